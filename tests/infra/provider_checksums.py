"""The published checksums of the pinned hashicorp/aws release, which every unit's lock file must carry.

Terraform records two kinds of hashes ("Dependency Lock File", section "Checksum verification",
https://developer.hashicorp.com/terraform/language/files/dependency-lock): ``zh:`` is the SHA-256 of a
release zip as the registry publishes it in the release's ``SHA256SUMS`` document (one line per platform zip,
plus one for the release's ``manifest.json``), and ``h1:`` hashes the unpacked package of one platform.
``terraform init`` from the registry records every ``zh:`` of the release and the ``h1:`` of the machine it
ran on; from a filesystem mirror it records only the mirror's ``h1:``, which is what broke ``init`` on macOS
and arm64 (issue 19).

The 15 ``zh:`` below were read from public lock files of hashicorp/aws 5.100.0 made by ``terraform init``
against the registry, and agree across independent ones (a Windows init: its h1 is the windows_amd64
package's; two Linux inits, whose h1 is this machine's mirror's; a repository that pins the same set as a
constant). ``9b12af85...`` is the manifest's line: it is the same in the 5.71.0 and 6.21.0 sets, as the
manifest (``{"version": 1, "metadata": {"protocol_versions": ["5.0"]}}``) is. The other 14 are one per
platform zip the release publishes (``PLATFORMS``: the provider's release metadata lists exactly these zips).
Which of the 14 is which platform is written only in ``SHA256SUMS``, which this machine cannot reach; so the
check demands the complete set (every platform, linux and darwin on amd64 and arm64 among them), and
``make providers-lock`` rewrites the locks from the registry where it is reachable (adding each platform's
``h1:``).
"""

from __future__ import annotations

VERSION = "5.100.0"

# terraform-provider-aws' release metadata: terraform-provider-aws_<version>_<platform>.zip for these.
PLATFORMS = (
    "darwin_amd64",
    "darwin_arm64",
    "freebsd_386",
    "freebsd_amd64",
    "freebsd_arm",
    "linux_386",
    "linux_amd64",
    "linux_arm",
    "linux_arm64",
    "openbsd_386",
    "openbsd_amd64",
    "openbsd_arm",
    "windows_386",
    "windows_amd64",
)
REQUIRED_PLATFORMS = ("linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64")

MANIFEST_ZH = "zh:9b12af85486a96aedd8d7984b0ff811a4b42e3d88dad1a3fb4c0b580d04fa425"
PACKAGE_ZH = frozenset(
    {
        "zh:054b8dd49f0549c9a7cc27d159e45327b7b65cf404da5e5a20da154b90b8a644",
        "zh:0b97bf8d5e03d15d83cc40b0530a1f84b459354939ba6f135a0086c20ebbe6b2",
        "zh:1589a2266af699cbd5d80737a0fe02e54ec9cf2ca54e7e00ac51c7359056f274",
        "zh:6330766f1d85f01ae6ea90d1b214b8b74cc8c1badc4696b165b36ddd4cc15f7b",
        "zh:7c8c2e30d8e55291b86fcb64bdf6c25489d538688545eb48fd74ad622e5d3862",
        "zh:99b1003bd9bd32ee323544da897148f46a527f622dc3971af63ea3e251596342",
        "zh:9f8b909d3ec50ade83c8062290378b1ec553edef6a447c56dadc01a99f4eaa93",
        "zh:aaef921ff9aabaf8b1869a86d692ebd24fbd4e12c21205034bb679b9caf883a2",
        "zh:ac882313207aba00dd5a76dbd572a0ddc818bb9cbf5c9d61b28fe30efaec951e",
        "zh:bb64e8aff37becab373a1a0cc1080990785304141af42ed6aa3dd4913b000421",
        "zh:dfe495f6621df5540d9c92ad40b8067376350b005c637ea6efac5dc15028add4",
        "zh:f0ddf0eaf052766cfe09dea8200a946519f653c384ab4336e2a4a64fdd6310e9",
        "zh:f1b7e684f4c7ae1eed272b6de7d2049bb87a0275cb04dbb7cda6636f600699c9",
        "zh:ff461571e3f233699bf690db319dfe46aec75e58726636a0d97dd9ac6e32fb70",
    }
)
# The unpacked linux_amd64 package's h1, which tests/infra/test_lock_files.py recomputes from the mirror.
MIRROR_H1 = {"linux_amd64": "h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0="}


def missing(hashes: set[str]) -> list[str]:
    """What a lock entry's hashes lack for every platform to install: an empty list when nothing."""
    problems = []
    packages = hashes & PACKAGE_ZH
    if len(packages) < len(PLATFORMS):
        problems.append(
            f"{len(PLATFORMS) - len(packages)} of the {len(PLATFORMS)} platform packages' zh: checksums are "
            f"missing (recorded {len(packages)}); `init` fails on a platform without one"
        )
    if MANIFEST_ZH not in hashes:
        problems.append("the release manifest's zh: checksum is missing (the registry's set is incomplete)")
    return problems

"""Values that break naive mapping templates: quotes, backslashes, VTL syntax, control characters, unicode."""

from __future__ import annotations

HOSTILE_VALUES: dict[str, str] = {
    "quotes": "it's a \"quoted\" 'title'",
    "backslashes": "C:\\path\\to\\ \\' \\\" \\\\ \\u0041 \\n",
    "vtl_directives": "#set($x = 1)$x #if(true)yes#end ## not a comment #* nor this *#",
    "vtl_references": "$input.body $context.requestId ${title} $!util $util.escapeJavaScript('x') $",
    "json_injection": '"}, "admin": {"BOOL": true}, "x": {"S": "',
    "control_characters": "line\nbreak\ttab\rreturn\x00nul\x01\x1f\x7f\u2028\u2029",
    "unicode": "Grüße, 中文, עברית \u202e, emoji 😀👩‍👩‍👧, zero\u200bwidth",
    "markup": "</script><img src=x onerror=alert(1)>&amp;",
}

TEN_THOUSAND = ("".join(HOSTILE_VALUES.values()) * 40)[:10_000]

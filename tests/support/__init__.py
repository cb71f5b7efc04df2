"""Shared test support: servers in containers, AWS clients aimed at moto, stream readers, fault proxy."""

"""Reading a running service's /metrics as Prometheus would."""

import requests
from prometheus_client.parser import text_string_to_metric_families


def sample(base, name, **labels):
    """The value of series `name` with exactly these labels on `base`/metrics; None when there
    is no such series (a counter not incremented yet has none)."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return None

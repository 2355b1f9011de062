"""AML monitoring: rules as code with their parameters as data, alerts with a natural key,
and scan runs with a watermark (docs/compliance.md, "AML monitoring")."""

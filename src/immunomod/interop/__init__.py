"""Standards in and out: FHIR R4 input (and, next, CDS Hooks services)."""

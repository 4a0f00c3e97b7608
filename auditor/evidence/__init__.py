"""Evidence a third party can check: sign-offs on a run's findings, signed bundles, `verify`."""

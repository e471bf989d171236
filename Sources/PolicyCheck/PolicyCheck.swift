/// Policies (YAML, see docs/policy.md) evaluated over release bundles, with
/// waivers, and audit reports in text, JSON, SARIF 2.1.0 and JUnit XML.
public enum PolicyCheck {}

/// Differentially private statistics with exact integer noise samplers,
/// privacy accounting, and a privacy-budget ledger.
public enum DifferentialPrivacy {}

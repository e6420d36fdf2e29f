"""A case's life up to and including the decision: filing, policy, triage, scoring,
the case page's read model."""

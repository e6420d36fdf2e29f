"""What moderators' decisions do to the world: enforcement, identity, appeals, evidence."""

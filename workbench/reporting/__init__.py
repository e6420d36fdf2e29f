"""What the figures say: the dashboard, operations, transparency, pages drawn once and shared."""

"""What the operators do, as plain functions tests can call: each ``start_*`` checks the settings and
starts an engine task (or finishes at once), each task's finish step applies the result to the scene."""

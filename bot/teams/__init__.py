"""The team member database: teams, their members' skills and sprint capacity (`augment_teams`)."""

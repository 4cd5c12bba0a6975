"""Working calendars: office hours, Indonesian holidays and per-office overrides."""

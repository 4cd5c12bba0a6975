"""Settings, database, security, errors and operations shared by every domain."""

"""The platform core: settings, database, accounts and roles, projects, rules, audit, the app and the CLI."""

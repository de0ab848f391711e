"""Syncing a project folder to an Azure file share: the project walk and its ignore rules, the
manifest of what this tool wrote, crash-safe uploads, and the share client."""

"""The pure guide domain: facts, field catalog, guides, engine, texts."""

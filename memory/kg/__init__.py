"""Knowledge graph: Disease Ontology entities and curated histology facts, kept in Chroma."""

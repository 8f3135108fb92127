"""The paper's networks (embedder E, generator G, projection discriminator D), the hybrid, and losses."""

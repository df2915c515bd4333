"""Built-in search spaces (YAML), installed as the package `hgq_automl.search_spaces`."""

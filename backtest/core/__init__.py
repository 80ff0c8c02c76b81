"""The base every stage stands on: errors, settings, the warehouse file, requests and UIDs, and
text for people. It imports nothing else of the product."""

"""What join needs on the node side: paths, machine checks, unit and config texts, the node-credential client."""

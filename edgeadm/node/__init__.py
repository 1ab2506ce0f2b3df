"""What a node does with its own identity: the library side of join and reset that runs on the node itself.

Modules here stay on the slim join path: they must not import `kubernetes`, `requests`, `jinja2` or `paramiko`.
"""

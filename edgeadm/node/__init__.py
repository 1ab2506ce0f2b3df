"""What join needs on the node side: paths, machine checks, unit and config texts, the cluster facts join reads
and the node-credential client (`api`). Nothing here imports kubernetes, jinja2 or paramiko: this code runs on
edge machines."""

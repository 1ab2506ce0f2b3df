"""The phases of `join`: one thin adapter per phase over the node-side libraries; `data.JoinData` is what they
may read."""

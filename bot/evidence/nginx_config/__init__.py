"""Read a pasted ``nginx -T`` dump: split it into files, parse each with crossplane, walk the includes."""

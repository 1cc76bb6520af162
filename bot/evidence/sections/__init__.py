"""Cut a paste into typed sections (``sniff``): shell prompts, line shapes, ``nginx -T`` extent."""

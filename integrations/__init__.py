"""Partner integrations: the router to partner outbound topics and the partner simulators."""

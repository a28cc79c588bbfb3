"""The logistics staff roster of each school and their health-certificate warnings."""

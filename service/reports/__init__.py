"""The monthly report (月报) of each school and its review workflow."""

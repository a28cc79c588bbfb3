"""Spot-inspection appeals (申诉)."""

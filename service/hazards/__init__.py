"""Rectification notices (整改通知单): safety hazards found at a school, tracked until fixed."""

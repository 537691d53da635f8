"""Deals: pipeline opportunities (23blocks' "leads") with exact money and stage history."""

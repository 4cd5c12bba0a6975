"""Customs offices: the directory every inquiry, calendar and ticket belongs to."""

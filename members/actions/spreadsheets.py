"""Membership actions: spreadsheets. (Being built.)"""

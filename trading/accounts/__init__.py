"""Accounts and roles: trading centres, organisations (with their unified social credit codes), people."""

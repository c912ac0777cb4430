VALUE = "mac"

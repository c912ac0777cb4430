VALUE = "local"

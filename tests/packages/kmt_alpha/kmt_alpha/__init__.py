import kmt_beta

VALUE = "alpha+" + kmt_beta.VALUE


def main():
    print("kmt-alpha says", VALUE)

"""The most common passwords long enough to pass the length rule (from the published
lists of leaked passwords: SecLists' 10-million list, NCSC's 100k list), lower-case.

Guessers try these first; refusing them costs a user nothing. The list is short on
purpose: a password manager's random password never meets it, and a long list would
only add words people do not pick anyway.
"""

COMMON_PASSWORDS = frozenset(
    """
    0000000000 0123456789 1111111111 1212121212 1234567890 12345678910 1234567891
    123456789a 123456789q 1234qwer!@#$ 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc 1qazxsw23edc
    2222222222 5555555555 7777777777 8888888888 9876543210 9999999999 a123456789
    aaaaaaaaaa abc1234567 abcd123456 abcdefghij administrator administrator1 asdfghjkl1
    asdfghjkl; baseball123 changeme123 computer123 dragon12345 football123 iloveyou12
    iloveyou123 letmein123 monkey12345 p@ssw0rd123 passw0rd123 password01 password1!
    password12 password123 password1234 password12345 princess123 q1w2e3r4t5 q1w2e3r4t5y6
    qazwsxedc123 qwerty1234 qwerty12345 qwerty123456 qwertyuiop qwertyuiop123 starwars123
    sunshine123 superman123 trustno1234 welcome123 welcome1234 zaq12wsxcde zxcvbnm123
    """.split()
)

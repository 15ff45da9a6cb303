"""AWS Regions and their Availability Zone names, so the config schema can refuse ones that do not exist.

Before this table the schema checked only the shape of a region or zone name, so a typo such as
"ap-northeast-2e", "ap-northeast-22a" or "eu-centrall-1" was accepted and failed only at deploy time.
Checking names against this table catches them when the config is loaded.

Where the data comes from
-------------------------
Zones: the page "AWS Availability Zones" in the "AWS Regions and Availability Zones" guide (``SOURCE``). Its
tables (North America, Africa, Asia Pacific, Europe, Middle East, South America) list every AZ ID per Region;
the number of AZ IDs of a Region gives its zone letters. The "AZ IDs" page of the same guide
(https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html) lists the Regions whose zone
letters are mapped independently per account.

Region codes: cross-checked against ``cfnlint.helpers.REGIONS`` in cfn-lint 1.58 and against the EC2 Regions in
botocore's endpoint data. The 34 Regions below are exactly botocore's EC2 Regions.

Checked on ``CHECKED``. AWS adds Regions and zones; when a real name is refused, re-read the page and update the
table and the date.

Naming rule
-----------
A zone name is the Region code followed by one letter. In most Regions the letters are a, b, c, ... one per AZ,
so a Region with three AZ IDs has zones a, b and c. The exceptions encoded below:

- us-east-1 (N. Virginia): six AZ IDs (use1-az1 to use1-az6), so zones a to f. The page also lists a Maryland
  zone "coming in 2026" with no AZ ID yet; it is not in the table.
- us-west-1 (N. California): three AZ IDs, but an account sees only two of them (the page: "Newer accounts can
  access two Availability Zones"), named b and c or a and b (older accounts also a and c) depending on the
  account. All of a, b and c are accepted.
- ap-northeast-1 (Tokyo): four AZ IDs, but one is constrained: new accounts see a, c and d, while some older
  accounts see b (for example b, c and d). All of a to d are accepted.
- ca-central-1 (Canada Central): the page lists cac1-az1, cac1-az2 and cac1-az4 (no cac1-az3), and accounts
  see a, b and d. c is also accepted, as the letter of the unlisted cac1-az3 that an older account may still
  have (cfn-lint lists it too).
- Regions that map zone letters independently per account (accounts created before November 2025): us-east-1,
  us-west-1, us-west-2, ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-west-1 and sa-east-1 (and GovCloud
  US-West, not in this table). There "us-east-1a" can be a different place in two accounts, and a constrained
  zone may be missing from some accounts, so every letter any account can have there is accepted.

For Regions whose letters differ between accounts the table is deliberately permissive: refusing a real zone
would be worse than accepting an unusual letter. A letter that is valid here can still be unavailable to a given
account; only deploying (or ``aws ec2 describe-availability-zones``) tells.

Not in the table
----------------
- No documented AZ list found (the page has no AZ IDs for them): cn-north-1, cn-northwest-1 (China),
  us-gov-east-1, us-gov-west-1 (GovCloud) and eusc-de-east-1 (AWS European Sovereign Cloud). All five are in
  cfn-lint's Region list.
- Isolated partitions, for which no zone data is published: us-iso-east-1, us-iso-west-1, us-isob-east-1,
  us-isob-west-1, us-isof-east-1, us-isof-south-1 and eu-isoe-west-1.
- Local Zones and Wavelength Zones (names like us-east-1-bos-1a), which are not Availability Zones.
"""

__all__ = ["CHECKED", "REGIONS", "SOURCE", "ZONES_BY_REGION"]

SOURCE: str = "https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html"
CHECKED: str = "2026-11-29"

# Region code -> the zone letters an account can have there, in order. The comment gives the AZ IDs on the page.
_ZONE_LETTERS: dict[str, str] = {
    # North America
    "us-east-1": "abcdef",  # use1-az1..az6; independently mapped
    "us-east-2": "abc",  # use2-az1..az3
    "us-west-1": "abc",  # usw1-az1..az3; an account sees two of them; independently mapped
    "us-west-2": "abcd",  # usw2-az1..az4; independently mapped
    "ca-central-1": "abcd",  # cac1-az1, az2, az4 (accounts see a, b, d); c kept for older accounts
    "ca-west-1": "abc",  # caw1-az1..az3
    "mx-central-1": "abc",  # mxc1-az1..az3
    # Africa
    "af-south-1": "abc",  # afs1-az1..az3
    # Asia Pacific
    "ap-east-1": "abc",  # ape1-az1..az3
    "ap-east-2": "abc",  # ape2-az1..az3
    "ap-northeast-1": "abcd",  # apne1-az1..az4; new accounts see a, c, d; independently mapped
    "ap-northeast-2": "abcd",  # apne2-az1..az4
    "ap-northeast-3": "abc",  # apne3-az1..az3
    "ap-south-1": "abc",  # aps1-az1..az3
    "ap-south-2": "abc",  # aps2-az1..az3
    "ap-southeast-1": "abc",  # apse1-az1..az3; independently mapped
    "ap-southeast-2": "abc",  # apse2-az1..az3; independently mapped
    "ap-southeast-3": "abc",  # apse3-az1..az3
    "ap-southeast-4": "abc",  # apse4-az1..az3
    "ap-southeast-5": "abc",  # apse5-az1..az3
    "ap-southeast-6": "abc",  # apse6-az1..az3
    "ap-southeast-7": "abc",  # apse7-az1..az3
    # Europe
    "eu-central-1": "abc",  # euc1-az1..az3
    "eu-central-2": "abc",  # euc2-az1..az3
    "eu-north-1": "abc",  # eun1-az1..az3
    "eu-south-1": "abc",  # eus1-az1..az3
    "eu-south-2": "abc",  # eus2-az1..az3
    "eu-west-1": "abc",  # euw1-az1..az3; independently mapped
    "eu-west-2": "abcd",  # euw2-az1..az4
    "eu-west-3": "abc",  # euw3-az1..az3
    # Middle East
    "il-central-1": "abc",  # ilc1-az1..az3
    "me-central-1": "abc",  # mec1-az1..az3
    "me-south-1": "abc",  # mes1-az1..az3
    # South America
    "sa-east-1": "abc",  # sae1-az1..az3; independently mapped
}


def _zones(region: str, letters: str) -> tuple[str, ...]:
    """Zone names of a Region: its code followed by each letter, e.g. ("ap-northeast-2a", "ap-northeast-2b")."""
    return tuple(f"{region}{letter}" for letter in letters)


ZONES_BY_REGION: dict[str, tuple[str, ...]] = {
    region: _zones(region, letters) for region, letters in _ZONE_LETTERS.items()
}

REGIONS: tuple[str, ...] = tuple(sorted(ZONES_BY_REGION))

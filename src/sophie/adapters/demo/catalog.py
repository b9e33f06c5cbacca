"""Fixed vocabularies of the demo practice: names, CDT codes with plausible fees, carriers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

__all__ = [
    "CARRIERS",
    "CHILD_NAMES",
    "CODES",
    "FEMALE_NAMES",
    "LAST_NAMES",
    "MALE_NAMES",
    "MOLARS",
    "POSTERIOR",
    "RESTORATIVE_PLANS",
    "Code",
    "coverage",
    "money",
]


@dataclass(frozen=True, slots=True)
class Code:
    """One CDT code as the demo uses it.

    Attributes:
        code: The CDT code, e.g. ``D2740``.
        description: The short nomenclature.
        fee_cents: The practice's usual fee, in cents.
        hygiene: Whether it marks a hygiene visit (D1110, D1120, D4341, D4342, D4910).
    """

    code: str
    description: str
    fee_cents: int
    hygiene: bool = False


def _codes(*entries: Code) -> dict[str, Code]:
    return {entry.code: entry for entry in entries}


CODES: dict[str, Code] = _codes(
    Code("D0120", "Periodic oral evaluation - established patient", 6500),
    Code("D0140", "Limited oral evaluation - problem focused", 8500),
    Code("D0150", "Comprehensive oral evaluation - new or established patient", 11000),
    Code("D0171", "Re-evaluation - post-operative office visit", 0),
    Code("D0210", "Intraoral - comprehensive series of radiographic images", 15000),
    Code("D0274", "Bitewings - four radiographic images", 7500),
    Code("D0330", "Panoramic radiographic image", 12500),
    Code("D1110", "Prophylaxis - adult", 11500, hygiene=True),
    Code("D1120", "Prophylaxis - child", 8000, hygiene=True),
    Code("D1206", "Topical application of fluoride varnish", 4500),
    Code("D1351", "Sealant - per tooth", 5500),
    Code("D2140", "Amalgam - one surface, primary or permanent", 14000),
    Code("D2391", "Resin-based composite - one surface, posterior", 18500),
    Code("D2392", "Resin-based composite - two surfaces, posterior", 23000),
    Code("D2393", "Resin-based composite - three surfaces, posterior", 28000),
    Code("D2740", "Crown - porcelain/ceramic", 125000),
    Code("D2750", "Crown - porcelain fused to high noble metal", 118000),
    Code("D2950", "Core buildup, including any pins when required", 29500),
    Code("D3310", "Endodontic therapy, anterior tooth", 85000),
    Code("D3330", "Endodontic therapy, molar tooth", 115000),
    Code("D4341", "Periodontal scaling and root planing - four or more teeth per quadrant", 26500, hygiene=True),
    Code("D4342", "Periodontal scaling and root planing - one to three teeth per quadrant", 18000, hygiene=True),
    Code("D4910", "Periodontal maintenance", 16500, hygiene=True),
    Code("D6010", "Surgical placement of implant body: endosteal implant", 225000),
    Code("D6065", "Implant supported porcelain/ceramic crown", 165000),
    Code("D7140", "Extraction, erupted tooth or exposed root", 19000),
    Code("D7210", "Extraction, erupted tooth requiring removal of bone", 32000),
    Code("D7240", "Removal of impacted tooth - completely bony", 52000),
    Code("D8080", "Comprehensive orthodontic treatment of the adolescent dentition", 580000),
    Code("D9110", "Palliative treatment of dental pain - per visit", 9500),
)
"""CDT codes by code."""

RESTORATIVE_PLANS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("D2392",), 26),
    (("D2391",), 12),
    (("D2393",), 10),
    (("D2392", "D2391"), 8),
    (("D2950", "D2740"), 14),
    (("D3330", "D2950", "D2740"), 6),
    (("D3310",), 3),
    (("D7140",), 9),
    (("D7210",), 3),
    (("D6010", "D6065"), 3),
    (("D4341", "D4341"), 6),
)
"""Treatment that an exam finds, with relative weights: the codes of one plan."""

POSTERIOR: tuple[str, ...] = (
    "2",
    "3",
    "4",
    "5",
    "12",
    "13",
    "14",
    "15",
    "18",
    "19",
    "20",
    "21",
    "28",
    "29",
    "30",
    "31",
)
MOLARS: tuple[str, ...] = ("2", "3", "14", "15", "18", "19", "30", "31")

CARRIERS: tuple[str, ...] = (
    "Delta Dental",
    "MetLife",
    "Cigna Dental",
    "Aetna Dental",
    "Guardian",
    "UnitedHealthcare Dental",
    "Humana Dental",
    "Principal Financial",
)

FEMALE_NAMES: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily",
    "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura",
    "Sharon", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela",
    "Nicole", "Emma", "Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Maria",
    "Heather", "Diane", "Julie", "Joyce", "Victoria", "Kelly", "Christina", "Lauren", "Joan",
    "Evelyn", "Olivia", "Judith", "Megan", "Cheryl", "Andrea", "Hannah", "Martha", "Jacqueline",
    "Frances", "Gloria", "Ann", "Teresa", "Kathryn", "Sara", "Janice", "Jean", "Alice", "Grace",
    "Priya", "Mei", "Aisha", "Sofia", "Camila", "Yuki", "Fatima", "Ana", "Lucia", "Nadia",
)  # fmt: skip
MALE_NAMES: tuple[str, ...] = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
    "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward",
    "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen",
    "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Frank",
    "Patrick", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Jose", "Adam", "Nathan",
    "Henry", "Douglas", "Zachary", "Peter", "Kyle", "Noah", "Ethan", "Jeremy", "Walter",
    "Christian", "Keith", "Roger", "Terry", "Austin", "Sean", "Gerald", "Carl", "Harold", "Dylan",
    "Arjun", "Wei", "Omar", "Mateo", "Diego", "Hiroshi", "Ahmed", "Luis", "Carlos", "Dmitri",
)  # fmt: skip
CHILD_NAMES: tuple[str, ...] = (
    "Liam", "Olivia", "Noah", "Emma", "Oliver", "Charlotte", "Elijah", "Amelia", "Lucas", "Ava",
    "Mason", "Sophia", "Levi", "Isabella", "Asher", "Mia", "James", "Evelyn", "Leo", "Harper",
    "Ezra", "Luna", "Luca", "Camila", "Hudson", "Gianna", "Ethan", "Elizabeth", "Aiden",
    "Eleanor", "Grayson", "Ella", "Jack", "Abigail", "Maverick", "Sofia", "Owen", "Avery",
    "Theo", "Scarlett", "Kai", "Emily", "Wyatt", "Aria", "Jayden", "Penelope", "Julian", "Chloe",
    "Aarav", "Zara", "Mateo", "Layla", "Santiago", "Nora", "Ryan", "Lily", "Caleb", "Hazel",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Chen", "Wang", "Singh", "Okafor", "Kowalski", "Novak", "Fischer", "Rossi", "Haddad", "Tanaka",
)  # fmt: skip


@lru_cache(maxsize=8192)
def money(cents: int) -> Decimal:
    """Return ``cents`` as a two-place decimal amount of dollars."""
    return Decimal(cents).scaleb(-2)


def coverage(code: str) -> int:
    """Return the percentage a typical PPO plan pays for ``code`` (100/80/50)."""
    if code.startswith(("D0", "D1")):
        return 100
    if code.startswith(("D27", "D6", "D8")):
        return 50
    return 80

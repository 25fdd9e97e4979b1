"""The sample data a sandbox organisation is made from: people's and businesses'
names, products, exchange rates and currency names. Invented, and deterministic."""

from __future__ import annotations

from decimal import Decimal

FIRST_NAMES = (
    "Aroha", "Ben", "Chloe", "Daniel", "Emma", "Finn", "Grace", "Hemi", "Isla", "James",
    "Kiri", "Liam", "Mia", "Noah", "Olivia", "Pita", "Quinn", "Ruby", "Sam", "Tama", "Una",
    "Vera", "Wiremu", "Xavier", "Yasmin", "Zoe", "Amelia", "Blake", "Caleb", "Dana", "Eli",
    "Frances", "George", "Hana", "Ivan", "Jade", "Kyle", "Lucy", "Mason", "Nina", "Oscar",
    "Paige", "Rangi", "Sophie", "Tom", "Ursula", "Victor", "Willow", "Anahera", "Bruno",
    "Carmen", "Dmitri", "Eleni", "Fatima", "Gus", "Heidi", "Ines", "Jonas", "Keiko", "Leon",
    "Mere", "Nikau",
)
LAST_NAMES = (
    "Ngata", "Smith", "Williams", "Brown", "Wilson", "Taylor", "Anderson", "Thomas", "Walker",
    "White", "Harris", "Martin", "Thompson", "Young", "King", "Lee", "Wright", "Clarke",
    "Robinson", "Hall", "Allen", "Scott", "Green", "Baker", "Adams", "Campbell", "Edwards",
    "Parata", "Tane", "Henare", "Mitchell", "Roberts", "Turner", "Phillips", "Evans", "Morris",
    "Cook", "Bell", "Murphy", "Kelly", "Ward", "Cooper", "Stewart", "Reid", "Fraser", "Hughes",
    "Patel", "Singh", "Chen", "Wang", "Kumar", "Nguyen", "Kim", "Tanaka", "Rossi", "Muller",
    "Dubois", "Jensen", "Novak", "Silva", "Costa", "Olsen",
)
BUSINESS_WORDS = (
    "Harbour", "Kauri", "Summit", "Tui", "Coastal", "Southern", "Totara", "Ridge", "Riverbank",
    "Matai", "Pohutukawa", "Alpine", "Ironbark", "Silverfern", "Tasman", "Pacific", "Kowhai",
    "Rimu", "Wattle", "Bluegum", "Granite", "Copper", "Cedar", "Maple", "Orchard",
    "Lighthouse", "Keystone", "Meridian", "Northgate", "Redwood",
)
BUSINESS_KINDS = (
    "Builders", "Plumbing", "Electrical", "Design", "Consulting", "Logistics", "Catering",
    "Landscaping", "Joinery", "Printing", "Roofing", "Engineering", "Media", "Outfitters",
    "Traders", "Supplies", "Motors", "Dental", "Bakery", "Studio",
)
BUSINESS_SUFFIXES = ("Ltd", "Limited", "& Co", "Group", "Partners", "Co-op")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
PRODUCTS = (
    ("Consulting hours", Decimal("150.00")),
    ("Site visit", Decimal("95.00")),
    ("Design package", Decimal("1200.00")),
    ("Annual support plan", Decimal("2400.00")),
    ("Installation", Decimal("480.00")),
    ("Materials", Decimal("36.50")),
    ("Freight", Decimal("65.00")),
    ("Training session", Decimal("320.00")),
    ("Hardware kit", Decimal("899.99")),
    ("Licence renewal", Decimal("249.00")),
)

# Units of each currency per one unit of the organisation's base currency.
RATES_PER_NZD = {"NZD": Decimal("1"), "AUD": Decimal("0.9121"), "USD": Decimal("0.5934"),
                 "GBP": Decimal("0.4712"), "EUR": Decimal("0.5467")}
RATES_PER_AUD = {"AUD": Decimal("1"), "NZD": Decimal("1.0964"), "USD": Decimal("0.6506"),
                 "GBP": Decimal("0.5166"), "EUR": Decimal("0.5994")}
CURRENCY_NAMES = {"NZD": "New Zealand Dollar", "AUD": "Australian Dollar",
                  "USD": "United States Dollar", "GBP": "Pound Sterling", "EUR": "Euro"}

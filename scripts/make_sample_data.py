"""Write the demo's sample CRM files from the sandbox's seed-1 organisation.

Run from the repository root: ``python scripts/make_sample_data.py``. The files go to
``src/xerolink/sample_data/``; ``tests/demo/test_sample_data.py`` checks that they
still relate to the seed as described there (matches by email, by a contact person's
email, only by name, and none).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from xerolink.sandbox.seed import build_tenants

OUT = Path(__file__).resolve().parents[1] / "src" / "xerolink" / "sample_data"


def main() -> None:
    now = datetime.now(UTC)
    kauri = build_tenants(1, 200, now.date(), now)[0]
    contacts = [c for c in kauri.contacts.values() if c["ContactStatus"] == "ACTIVE"]
    emails: dict[str, int] = {}
    for c in contacts:
        for email in [c["EmailAddress"], *(p["EmailAddress"] for p in c["ContactPersons"])]:
            if email:
                emails[email] = emails.get(email, 0) + 1

    def rich(c: dict) -> int:
        return len(kauri.invoices_by_contact[c["ContactID"]]) + len(
            kauri.quotes_by_contact[c["ContactID"]])

    people = sorted((c for c in contacts if c["EmailAddress"] and emails[c["EmailAddress"]] == 1
                     and not c["ContactPersons"]), key=rich, reverse=True)
    by_email = people[:24]
    persons = [c for c in contacts if c["ContactPersons"]
               and emails[c["ContactPersons"][0]["EmailAddress"]] == 1][:4]
    by_name = [c for c in people[24:] if c["Name"] == f"{c['FirstName']} {c['LastName']}"][:5]
    rows = []
    companies = ["harbour", "summit", "totara"]
    for n, c in enumerate(by_email, start=1):
        rows.append({"id": f"c{n}", "first_name": c["FirstName"], "last_name": c["LastName"],
                     "email": c["EmailAddress"], "phone": f"+64 21 555 {n:04d}",
                     "company_id": companies[n % 3]})
    for n, c in enumerate(persons, start=len(rows) + 1):
        person = c["ContactPersons"][0]
        rows.append({"id": f"c{n}", "first_name": person["FirstName"],
                     "last_name": person["LastName"], "email": person["EmailAddress"],
                     "phone": "", "company_id": "harbour"})
    for n, c in enumerate(by_name, start=len(rows) + 1):
        rows.append({"id": f"c{n}", "first_name": c["FirstName"], "last_name": c["LastName"],
                     "email": f"{c['FirstName'].lower()}@home.example.net", "phone": "",
                     "company_id": "summit"})
    for n, (first, last) in enumerate((("Pania", "Whitcombe"), ("Otto", "Lindqvist"),
                                       ("Sione", "Fifita")), start=len(rows) + 1):
        rows.append({"id": f"c{n}", "first_name": first, "last_name": last,
                     "email": f"{first.lower()}.{last.lower()}@prospect.example.org",
                     "phone": "", "company_id": "totara"})
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "contacts.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(OUT / "companies.csv", "w", newline="", encoding="utf-8") as handle:
        handle.write("id,name\nharbour,Harbour Collective\nsummit,Summit Partners\n"
                     "totara,Totara Ventures\n")
    deals = [
        {"id": "d1", "title": "Office fit-out", "value": "48000.00", "currency": "NZD",
         "primary_contact_id": "c1", "participant_ids": ["c2", "c4"]},
        {"id": "d2", "title": "Annual support renewal", "value": "12500.00",
         "currency": "NZD", "primary_contact_id": "c3", "participant_ids": ["c30"]},
    ]
    (OUT / "deals.json").write_text(json.dumps(deals, indent=2) + "\n", encoding="utf-8")
    print(f"{len(rows)} contacts: {len(by_email)} by email, {len(persons)} by a contact "
          f"person's email, {len(by_name)} only by name, 3 unknown to Xero")


if __name__ == "__main__":
    main()

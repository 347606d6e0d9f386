"""The European markets of the synthetic shop: countries with regions, cities, phone formats, VAT and GA4 names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str  # ISO-3166 alpha-2
    name: str  # as GA4 writes geo.country
    weight: float  # share of the customer base
    dial_code: str  # international calling code without '+'
    trunk: str  # national trunk prefix ('' where the national number has none, e.g. Italy)
    mobile_prefixes: tuple[str, ...]
    vat_rate: float
    regions: tuple[tuple[str, tuple[str, ...]], ...]


COUNTRIES: tuple[Country, ...] = (
    Country("DE", "Germany", 0.34, "49", "0", ("151", "160", "170", "176"), 0.19,
            (("Bavaria", ("Munich", "Nuremberg")), ("Berlin", ("Berlin",)),
             ("North Rhine-Westphalia", ("Cologne", "Dusseldorf")), ("Hamburg", ("Hamburg",)))),
    Country("FR", "France", 0.14, "33", "0", ("6", "7"), 0.20,
            (("Ile-de-France", ("Paris",)), ("Auvergne-Rhone-Alpes", ("Lyon", "Grenoble")),
             ("Provence-Alpes-Cote d'Azur", ("Marseille", "Nice")))),
    Country("NL", "Netherlands", 0.10, "31", "0", ("6",), 0.21,
            (("North Holland", ("Amsterdam", "Haarlem")), ("South Holland", ("Rotterdam", "The Hague")),
             ("Utrecht", ("Utrecht",)))),
    Country("AT", "Austria", 0.08, "43", "0", ("664", "676", "699"), 0.20,
            (("Vienna", ("Vienna",)), ("Styria", ("Graz",)), ("Tyrol", ("Innsbruck",)))),
    Country("BE", "Belgium", 0.06, "32", "0", ("470", "475", "486"), 0.21,
            (("Brussels", ("Brussels",)), ("Flanders", ("Antwerp", "Ghent")), ("Wallonia", ("Liege",)))),
    Country("ES", "Spain", 0.08, "34", "", ("6", "7"), 0.21,
            (("Community of Madrid", ("Madrid",)), ("Catalonia", ("Barcelona",)), ("Valencia", ("Valencia",)))),
    Country("IT", "Italy", 0.08, "39", "", ("320", "333", "347"), 0.22,
            (("Lombardy", ("Milan", "Bergamo")), ("Lazio", ("Rome",)), ("Piedmont", ("Turin",)))),
    Country("GB", "United Kingdom", 0.07, "44", "0", ("7700", "7911", "7400"), 0.20,
            (("England", ("London", "Manchester")), ("Scotland", ("Edinburgh", "Glasgow")))),
    Country("PL", "Poland", 0.03, "48", "", ("501", "600", "790"), 0.23,
            (("Masovia", ("Warsaw",)), ("Lesser Poland", ("Krakow",)))),
    Country("DK", "Denmark", 0.02, "45", "", ("20", "30", "40"), 0.25,
            (("Capital Region", ("Copenhagen",)), ("Central Denmark", ("Aarhus",)))),
)


@dataclass(frozen=True)
class Place:
    """One (country, region, city) combination, flattened so places can be drawn with one vectorised choice."""

    country: int  # index into COUNTRIES
    region: str
    city: str
    weight: float


def places() -> list[Place]:
    out: list[Place] = []
    for ci, country in enumerate(COUNTRIES):
        cities = [(region, city) for region, region_cities in country.regions for city in region_cities]
        for region, city in cities:
            out.append(Place(ci, region, city, country.weight / len(cities)))
    return out

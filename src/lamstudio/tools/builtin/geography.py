"""Geography over bundled tables: city coordinates, great-circle distances, countries.

Coordinates are approximate city centres (``data/tools/cities.json``); distances use the
haversine formula on a sphere of radius 6371.0088 km (error up to ~0.5 % against the
ellipsoid).
"""

from __future__ import annotations

import math
import unicodedata
from datetime import timezone
from typing import Literal

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import finite, load_data, parse_datetime, positive, zone

CATEGORY = "geography"
EARTH_RADIUS_KM = 6371.0088
_UNIT_KM = {"km": 1.0, "mi": 1.609344, "nmi": 1.852}
_CITIES = load_data("cities")["cities"]
_COUNTRIES = load_data("countries")["countries"]


def _fold(text: str) -> str:
    """Case- and accent-insensitive key: "São Paulo" == "sao paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _country(query: str) -> dict:
    key = _fold(query)
    for row in _COUNTRIES:
        if key in (_fold(row["code"]), _fold(row["code3"]), _fold(row["name"])):
            return row
    raise ValueError(f"unknown country {query!r}; use a name or an ISO code such as 'FR'")


def _city(name: str, country: str | None = None) -> dict:
    key = _fold(name)
    matches = [c for c in _CITIES if _fold(c["name"]) == key]
    if country:
        code = _country(country)["code"]
        matches = [c for c in matches if c["country"] == code]
    if not matches:
        raise ValueError(f"unknown city {name!r}" + (f" in {country}" if country else ""))
    return matches[0]


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _point(lat: float, lon: float, prefix: str = "") -> tuple[float, float]:
    lat, lon = finite(lat, f"{prefix}latitude"), finite(lon, f"{prefix}longitude")
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValueError(f"{prefix}latitude must be in [-90, 90] and {prefix}longitude in "
                         f"[-180, 180], got ({lat:g}, {lon:g})")
    return lat, lon


def _public(city: dict) -> dict:
    return {"city": city["name"], "country": city["country"], "latitude": city["lat"],
            "longitude": city["lon"], "timezone": city["timezone"]}


@tool
def get_city_coordinates(city: str, country: str | None = None) -> dict:
    """Latitude, longitude, country code and time zone of a major city.

    Args:
        city: City name, e.g. "Lisbon" (accents optional).
        country: Country name or ISO code to disambiguate, e.g. "PT".
    """
    return _public(_city(city, country))


@tool
def haversine_distance(latitude1: float, longitude1: float, latitude2: float,
                       longitude2: float, unit: Literal["km", "mi", "nmi"] = "km") -> dict:
    """Great-circle distance between two points given in decimal degrees.

    Args:
        latitude1: Latitude of the first point (-90 to 90).
        longitude1: Longitude of the first point (-180 to 180).
        latitude2: Latitude of the second point.
        longitude2: Longitude of the second point.
        unit: km, mi (statute miles) or nmi (nautical miles).
    """
    a, b = _point(latitude1, longitude1, "first "), _point(latitude2, longitude2, "second ")
    return {"distance": round(_haversine_km(*a, *b) / _UNIT_KM[unit], 2), "unit": unit}


@tool
def distance_between_cities(origin: str, destination: str,
                            unit: Literal["km", "mi", "nmi"] = "km") -> dict:
    """Great-circle (flight) distance between two major cities.

    Args:
        origin: Name of the first city, e.g. "Paris".
        destination: Name of the second city, e.g. "Berlin".
        unit: km, mi or nmi.
    """
    a, b = _city(origin), _city(destination)
    km = _haversine_km(a["lat"], a["lon"], b["lat"], b["lon"])
    return {"origin": a["name"], "destination": b["name"],
            "distance": round(km / _UNIT_KM[unit], 2), "unit": unit}


@tool
def find_nearest_city(latitude: float, longitude: float, country: str | None = None) -> dict:
    """The bundled major city closest to a point, optionally within one country.

    Args:
        latitude: Latitude in decimal degrees.
        longitude: Longitude in decimal degrees.
        country: Restrict to this country (name or ISO code).
    """
    lat, lon = _point(latitude, longitude)
    pool = _CITIES
    if country:
        code = _country(country)["code"]
        pool = [c for c in _CITIES if c["country"] == code]
        if not pool:
            raise ValueError(f"no bundled cities in {country}")
    best = min(pool, key=lambda c: (_haversine_km(lat, lon, c["lat"], c["lon"]), c["name"]))
    return {**_public(best),
            "distance_km": round(_haversine_km(lat, lon, best["lat"], best["lon"]), 2)}


@tool
def cities_within_radius(latitude: float, longitude: float, radius_km: float,
                         limit: int = 10) -> dict:
    """Bundled major cities within a radius of a point, nearest first.

    Args:
        latitude: Latitude of the centre.
        longitude: Longitude of the centre.
        radius_km: Search radius in kilometres (positive, at most 20000).
        limit: Maximum number of cities to return (1 to 100).
    """
    lat, lon = _point(latitude, longitude)
    radius = positive(radius_km, "radius_km")
    if radius > 20_040 or not 1 <= limit <= 100:
        raise ValueError("radius_km must be at most 20040 and limit between 1 and 100")
    hits = sorted((round(_haversine_km(lat, lon, c["lat"], c["lon"]), 2), c["name"], c)
                  for c in _CITIES)
    found = [{"city": c["name"], "country": c["country"], "distance_km": d}
             for d, _, c in hits if d <= radius]
    return {"count": len(found[:limit]), "cities": found[:limit]}


@tool
def get_country_info(country: str) -> dict:
    """Capital, continent, currency, calling code and ISO codes of a country.

    Args:
        country: Country name or ISO 3166 alpha-2/alpha-3 code, e.g. "Japan" or "JPN".
    """
    row = _country(country)
    return {"name": row["name"], "iso_alpha2": row["code"], "iso_alpha3": row["code3"],
            "capital": row["capital"], "continent": row["continent"],
            "currency": row["currency"], "calling_code": row["calling_code"],
            "bundled_cities": [c["name"] for c in _CITIES if c["country"] == row["code"]]}


@tool
def get_local_time_in_city(city: str, utc_datetime: str) -> dict:
    """Local time in a major city at a given UTC moment.

    Args:
        city: City name, e.g. "Sydney".
        utc_datetime: The moment in UTC as ISO date-time, e.g. "2024-06-01T12:00".
    """
    row = _city(city)
    moment = parse_datetime(utc_datetime, "utc_datetime")
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
    local = moment.astimezone(zone(row["timezone"]))
    return {"city": row["name"], "timezone": row["timezone"], "local_time": local.isoformat(),
            "utc_offset_hours": local.utcoffset().total_seconds() / 3600}

"""Azure regions: the ones the emulated subscription offers, and display names for echoing a location.

Microsoft.App answers with a resource's location in display form ("West US" for a request that said
"westus"), as the recorded Azure traffic shows; other providers echo what was sent.
"""

from __future__ import annotations

# The regions GET /subscriptions/{id}/locations lists (name → display name).
LOCATIONS = {
    "eastus": "East US",
    "westus3": "West US 3",
    "swedencentral": "Sweden Central",
    "australiaeast": "Australia East",
    "westeurope": "West Europe",
    "northeurope": "North Europe",
}

# Further public regions, so a location any recording or test names is echoed the way Azure spells it.
DISPLAY_NAMES = {
    **LOCATIONS,
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "uksouth": "UK South",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "japaneast": "Japan East",
    "southeastasia": "Southeast Asia",
    "canadacentral": "Canada Central",
}


def location_key(location: str) -> str:
    """ARM's normalised form: "East US" and "eastus" are the same region."""
    return location.replace(" ", "").lower()


def display_location(location: str) -> str:
    """The display form of a known region ("eastus" → "East US"); anything else unchanged."""
    return DISPLAY_NAMES.get(location_key(location), location)

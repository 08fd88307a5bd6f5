"""FHIR R5 exchange: identifier systems, the codes we emit, and the value sets we check them
against (fhir.resources validates structure, not required bindings). Nothing here is a table."""

from __future__ import annotations

from enum import StrEnum

FHIR_VERSION = "5.0.0"
FHIR_JSON = "application/fhir+json"

# ISBT 128 URIs as the HL7 OO incubator's MedicalProductOfHumanOrigin profile names them.
MPHO_SYSTEM = "https://www.isbt128.org/uri/mphouniqueidentifier"
DIN_SYSTEM = "https://www.isbt128.org/uri/donationidentificationnumber"
# Assumption: ICCBBA's URI pattern for the facility identification number is not confirmed.
FIN_SYSTEM = "https://www.isbt128.org/uri/facilityidentificationnumber"
SITE_CODE_SYSTEM = "urn:cartrack:site"

PRODUCT_CATEGORY_SYSTEM = "http://hl7.org/fhir/product-category"
PRODUCT_STATUS_SYSTEM = "http://hl7.org/fhir/biologicallyderived-product-status"
ORIGIN_SYSTEM = "http://hl7.org/fhir/biologicallyderivedproductdispense-origin-relationship"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
PARTICIPANT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE_SYSTEM = "urn:iso-astm:E1762-95:2013"

# R5 5.0.0 value sets (required bindings).
PRODUCT_STATUS = frozenset({"available", "unavailable"})
DISPENSE_STATUS = frozenset({"preparation", "in-progress", "allocated", "issued", "unfulfilled",
                             "returned", "entered-in-error", "unknown"})
SERVICE_REQUEST_STATUS = frozenset({"draft", "active", "on-hold", "revoked", "completed",
                                    "entered-in-error", "unknown"})
PROCEDURE_STATUS = frozenset({"preparation", "in-progress", "not-done", "on-hold", "stopped",
                              "completed", "entered-in-error", "unknown"})
TRANSPORT_STATUS = frozenset({"in-progress", "completed", "abandoned", "cancelled", "planned",
                              "entered-in-error"})
AIR_WAYBILL_SYSTEM = "urn:cartrack:air-waybill"
BUNDLE_TYPES = frozenset({"document", "message", "transaction", "transaction-response", "batch",
                          "batch-response", "history", "searchset", "collection",
                          "subscription-notification"})


class ResourceType(StrEnum):
    Patient = "Patient"
    ServiceRequest = "ServiceRequest"
    BiologicallyDerivedProduct = "BiologicallyDerivedProduct"
    Procedure = "Procedure"
    BiologicallyDerivedProductDispense = "BiologicallyDerivedProductDispense"
    Provenance = "Provenance"
    Organization = "Organization"
    Location = "Location"
    Transport = "Transport"


# Journey events that are procedures on the patient or the product, and how they are named.
PROCEDURES: dict[str, str] = {
    "record_collection": "Apheresis collection",
    "start_manufacturing": "Manufacturing start",
    "record_process_step": "Manufacturing step",
    "complete_manufacturing": "Manufacturing complete: final product formulated and "
                              "cryopreserved",
    "thaw": "Thaw of the product bag",
    "infuse": "Infusion of the CAR-T cell product",
}

# Signature meanings (21 CFR Part 11) as ASTM E1762 signature types.
VERIFICATION = ("1.2.840.10065.1.12.1.5", "Verification Signature")
AUTHOR = ("1.2.840.10065.1.12.1.1", "Author's Signature")
SIGNATURE_TYPES: dict[str, tuple[str, str]] = {
    "Approved for release": VERIFICATION,
    "Verified": VERIFICATION,
}

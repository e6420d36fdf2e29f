"""A content ban reaches every platform: a removed image's hash goes into the group's bank.

When an image is removed (by a moderator or a rule), its PDQ hash is added to the
group bank for the removal's category (``removed-<category>``, created on first use,
with a rule that removes matches). A re-upload anywhere in the group, resized,
re-encoded, mirrored or turned, then matches at intake and is removed and reported
automatically, through the same ``apply_action`` as the first removal.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import BankEntry, HashBank, Image, utcnow
from workbench.upserts import insert_new

#: Hashes with less PDQ quality than this say too little to ban (flat or tiny images).
MIN_QUALITY = 50
#: What a match in a group bank does.
GROUP_RULE = {"actions": ["remove_content"]}


def group_bank(session: Session, category: str) -> HashBank:
    """The group's bank of removed images for ``category``, created on first use."""
    name = f"removed-{category}"[:64]
    bank = session.execute(select(HashBank).where(HashBank.name == name)).scalar_one_or_none()
    if bank is None:
        insert_new(session, HashBank, [{"name": name, "category": category[:32],
                                        "action_rule": GROUP_RULE, "enabled": True,
                                        "created_at": utcnow()}], ["name"], [HashBank.id])
        bank = session.execute(select(HashBank).where(HashBank.name == name)).scalar_one()
    return bank


def ban_image(session: Session, image_id: int, category: str | None) -> bool:
    """Add a removed image's hash to its category's group bank; False if it has no
    usable hash yet (not hashed, or too flat) or is banked there already."""
    image = session.get_one(Image, image_id)
    if image.pdq is None or (image.pdq_quality or 0) < MIN_QUALITY:
        return False
    bank = group_bank(session, category or "other")
    return bool(insert_new(session, BankEntry, [{
        "bank_id": bank.id, "pdq": image.pdq, "quality": image.pdq_quality,
        "crop_hashes": None, "source_image_id": image.id,
        "source": f"removed image {image.platform_image_id}"[:300], "created_at": utcnow(),
    }], ["bank_id", "pdq"], [BankEntry.id]))

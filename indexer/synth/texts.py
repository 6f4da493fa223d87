"""Abstract-like proposal texts for the synthetic classes.

Written to give a caption step real work: the object is named with varied synonyms and
acronyms, the science goals are spread over several sentences, and boilerplate and
comparisons with other kinds of object act as distractors. The class label itself is kept
out of the text's fields; the object is named in one of several ways.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    category: tuple[str, ...]
    objects: tuple[str, ...]  # ways of naming the target (singular)
    plural: tuple[str, ...]  # for titles
    targets: tuple[str, ...]  # name patterns; {n} is filled with a number
    motivation: tuple[str, ...]
    details: tuple[str, ...]  # sentences with acronyms and specifics
    uses: tuple[str, ...]  # science goals, verb first


VOCAB: dict[str, Vocabulary] = {
    "spiral galaxy": Vocabulary(
        ("Galaxies",),
        ("grand-design spiral galaxy", "nearby spiral galaxy", "face-on spiral", "star-forming disk galaxy"),
        ("Spiral Galaxies", "Nearby Spirals", "Grand-Design Spirals"),
        ("NGC {n}", "M {n}", "UGC {n}"),
        (
            "Spiral arms are the main sites of star formation in disk galaxies, yet how they form and persist is still debated.",
            "The density-wave picture of spiral structure makes testable predictions for the ages of stars across the arms.",
        ),
        (
            "Its prominent spiral arms are traced by young star clusters and HII regions.",
            "We will map the age gradient of stellar associations across the arms, from the dust lanes on their inner edge outward.",
            "Ground-based H-alpha imaging shows a well-defined two-armed pattern and a small classical bulge.",
        ),
        (
            "measure the star formation rate (SFR) along the spiral arms",
            "test density-wave theory",
            "age-date young star clusters in the disk",
            "map dust lanes and HII regions",
        ),
    ),
    "barred spiral galaxy": Vocabulary(
        ("Galaxies",),
        ("barred spiral galaxy", "strongly barred disk galaxy", "SB-type spiral", "barred galaxy"),
        ("Barred Spirals", "Barred Disk Galaxies"),
        ("NGC {n}", "IC {n}"),
        (
            "Stellar bars redistribute angular momentum and drive gas toward the centres of disk galaxies.",
            "Roughly two thirds of nearby disk galaxies host a stellar bar, a key agent of secular evolution.",
        ),
        (
            "The galaxy shows a strong central bar whose ends connect to two spiral arms and an inner ring.",
            "Bar-driven inflow should feed a nuclear ring; the bar pattern speed is poorly constrained.",
            "We will resolve the stellar populations along the bar and in the inner ring at the corotation radius (CR).",
        ),
        (
            "measure the bar length and strength",
            "trace bar-driven gas inflow toward the nucleus",
            "study secular evolution of barred disks",
            "constrain the pattern speed of the bar",
        ),
    ),
    "elliptical galaxy": Vocabulary(
        ("Galaxies",),
        (
            "giant elliptical galaxy",
            "massive early-type galaxy",
            "elliptical galaxy",
            "early-type galaxy (ETG)",
        ),
        ("Elliptical Galaxies", "Early-Type Galaxies", "Massive Ellipticals"),
        ("NGC {n}", "M {n}", "ESO {n}-G0{n}"),
        (
            "Massive elliptical galaxies are thought to assemble through dry mergers, leaving smooth, featureless light profiles.",
            "Early-type galaxies hold most of the stellar mass in the local universe, yet their assembly history is poorly known.",
        ),
        (
            "Its smooth de Vaucouleurs (r^1/4) light profile and rich globular cluster (GC) system make it an ideal target.",
            "We will use surface brightness fluctuations (SBF) to measure its distance and the shape of its isophotes.",
            "Earlier WFPC2 data revealed a central cusp but no dust; the outer halo remains unexplored.",
        ),
        (
            "measure the central surface brightness profile",
            "map the globular cluster system of the halo",
            "search for shells and tidal debris from dry mergers",
            "constrain the mass of the central supermassive black hole (SMBH)",
        ),
    ),
    "edge-on disk galaxy": Vocabulary(
        ("Galaxies", "ISM and Circumstellar Matter"),
        ("edge-on disk galaxy", "edge-on spiral", "galaxy seen edge-on", "thin disk galaxy"),
        ("Edge-On Galaxies", "Edge-On Disks"),
        ("NGC {n}", "UGC {n}", "IC {n}"),
        (
            "Edge-on galaxies offer a unique view of the vertical structure of disks and of extraplanar dust.",
            "The thick and thin disks of galaxies record their heating and accretion history.",
        ),
        (
            "A prominent dust lane bisects the disk along its midplane, with filaments rising into the halo.",
            "The galaxy is inclined by more than 85 degrees, so the dust lane and the extraplanar diffuse ionized gas (eDIG) are clearly separated.",
            "We will measure the scale heights of the thin and thick disks and the vertical extent of the dust.",
        ),
        (
            "map the dust lane and extraplanar dust filaments",
            "measure thin and thick disk scale heights",
            "study vertical structure of galactic disks",
            "trace the disk-halo interface",
        ),
    ),
    "dwarf irregular galaxy": Vocabulary(
        ("Stellar Populations", "Galaxies"),
        ("dwarf irregular galaxy", "gas-rich dwarf galaxy", "Magellanic-type irregular", "dIrr galaxy"),
        ("Dwarf Irregular Galaxies", "Local Volume Dwarfs", "Gas-Rich Dwarfs"),
        ("DDO {n}", "UGCA {n}", "Leo {n}", "WLM"),
        (
            "Dwarf irregular galaxies are the most common galaxies in the universe and the closest analogues of the building blocks of larger systems.",
            "Low-metallicity dwarfs probe star formation in conditions like those of the early universe.",
        ),
        (
            "The galaxy is resolved into individual stars, with clumpy, irregular star-forming regions.",
            "We will construct deep colour-magnitude diagrams (CMDs) reaching below the red clump (RC) and the tip of the red giant branch (TRGB).",
            "Its metallicity is only a tenth of solar, and HI maps show a disturbed gas distribution.",
        ),
        (
            "derive the star formation history (SFH) from resolved stars",
            "measure the TRGB distance",
            "study star formation at low metallicity",
            "map the distribution of young and old stellar populations",
        ),
    ),
    "interacting galaxies": Vocabulary(
        ("Galaxies",),
        ("interacting galaxy pair", "merging galaxies", "colliding galaxy pair", "galaxy merger"),
        ("Interacting Galaxies", "Galaxy Mergers", "Colliding Galaxies"),
        ("Arp {n}", "NGC {n}/{n}", "VV {n}"),
        (
            "Galaxy interactions trigger starbursts, build bulges and fuel active nuclei.",
            "Mergers reshape galaxies, and the tidal features they leave behind record the encounter geometry.",
        ),
        (
            "The two galaxies are connected by a bridge and show long tidal tails extending far from the pair.",
            "N-body simulations suggest the first pericentre passage occurred about 300 Myr ago.",
            "Super star clusters (SSCs) and tidal dwarf galaxy candidates line the tails.",
        ),
        (
            "map tidal tails and bridges",
            "age-date star clusters formed in the interaction",
            "constrain the merger geometry with N-body models",
            "study interaction-triggered star formation",
        ),
    ),
    "globular cluster": Vocabulary(
        ("Stellar Populations", "Stellar Physics"),
        (
            "globular cluster",
            "old Galactic globular cluster",
            "massive star cluster",
            "Milky Way globular (GC)",
        ),
        ("Globular Clusters", "Galactic Globular Clusters"),
        ("NGC {n}", "M {n}", "Palomar {n}"),
        (
            "Globular clusters are among the oldest objects in the Galaxy and set a lower bound on the age of the universe.",
            "The discovery of multiple stellar populations has overturned the view of globular clusters as simple stellar populations.",
        ),
        (
            "The cluster core is densely packed with thousands of resolved stars.",
            "We will measure proper motions (PMs) of stars in the core, and the horizontal branch (HB) and main-sequence turnoff (MSTO).",
            "Blue stragglers and millisecond pulsars (MSPs) make the core a laboratory of stellar dynamics.",
        ),
        (
            "measure the cluster age from the main-sequence turnoff",
            "search for multiple stellar populations",
            "study core collapse and mass segregation",
            "measure internal proper motions",
        ),
    ),
    "open cluster": Vocabulary(
        ("Stellar Populations", "Star Formation"),
        ("open cluster", "young open star cluster", "Galactic open cluster", "loose stellar association"),
        ("Open Clusters", "Young Star Clusters"),
        ("NGC {n}", "Collinder {n}", "Berkeley {n}", "Trumpler {n}"),
        (
            "Open clusters are the benchmarks of stellar evolution: coeval, at one distance and with one chemistry.",
            "Most stars are born in clusters that disperse into the field within a few hundred Myr.",
        ),
        (
            "The cluster contains a few dozen bright, sparsely distributed stars with little central concentration.",
            "Gaia astrometry has identified members down to G=18; we will extend the census to brown dwarfs (BDs).",
            "We will derive the initial mass function (IMF) and test models of cluster dissolution.",
        ),
        (
            "measure the initial mass function (IMF) of the cluster",
            "trace cluster dissolution into the field",
            "calibrate stellar evolution models",
            "search for low-mass members",
        ),
    ),
    "crowded stellar field": Vocabulary(
        ("Stellar Populations",),
        ("crowded stellar field", "dense bulge field", "crowded field of stars", "Galactic bulge star field"),
        ("Crowded Fields", "Bulge Fields", "Dense Stellar Fields"),
        ("Baade's Window", "Sgr-I field", "Bulge field {n}", "OGLE-BLG-{n}"),
        (
            "The Galactic bulge contains a quarter of the Milky Way's stars, yet its formation history remains contentious.",
            "Microlensing surveys monitor millions of bulge stars, but only HST resolves the crowded fields.",
        ),
        (
            "Stars cover the entire field with no clear centre, so photometry must handle extreme crowding.",
            "We will use PSF-fitting photometry on a field with more than 100,000 stars per square arcminute.",
            "Time-series imaging will reveal variables, eclipsing binaries (EBs) and microlensing events.",
        ),
        (
            "measure the age and metallicity distribution of bulge stars",
            "detect microlensing events and their astrometric signals",
            "separate disk and bulge populations by proper motion",
            "calibrate crowded-field photometry",
        ),
    ),
    "planetary nebula": Vocabulary(
        ("ISM and Circumstellar Matter", "Stellar Physics"),
        ("planetary nebula", "young planetary nebula (PN)", "compact PN", "bipolar planetary nebula"),
        ("Planetary Nebulae", "Young PNe"),
        ("NGC {n}", "IC {n}", "Hen 2-{n}", "PN G{d}.{d}"),
        (
            "Planetary nebulae mark the final ejection of the envelope of low- and intermediate-mass stars.",
            "How round stars produce the striking shapes of planetary nebulae is a long-standing puzzle.",
        ),
        (
            "The nebula shows a bright elliptical shell around a hot central star (CSPN) with a faint outer halo.",
            "Narrow-band [O III] and H-alpha images will map the ionization structure of the shell.",
            "Some shells have bipolar lobes, which may be shaped by a binary companion or magnetic fields.",
        ),
        (
            "map the ionization structure of the shell",
            "measure the expansion of the nebula",
            "test binary shaping models",
            "characterise the central star",
        ),
    ),
    "supernova remnant": Vocabulary(
        ("ISM and Circumstellar Matter",),
        (
            "supernova remnant",
            "young supernova remnant (SNR)",
            "expanding SNR shell",
            "remnant of a supernova",
        ),
        ("Supernova Remnants", "Galactic SNRs", "Young SNRs"),
        ("Cas A", "SN 19{d}A", "Kes {d}", "N{d}", "G{d}.{d}-0.{d}"),
        (
            "Supernova remnants enrich the interstellar medium with heavy elements and accelerate cosmic rays.",
            "The shock waves of supernova remnants shape and heat the interstellar medium.",
        ),
        (
            "The remnant is a large, broken shell of thin filaments where the blast wave meets interstellar clouds.",
            "Our second epoch will measure the proper motions of the filaments to obtain the expansion age.",
            "The shock front is seen in H-alpha and [S II]; X-ray (Chandra) data trace the hot ejecta.",
        ),
        (
            "measure the expansion of the shell filaments",
            "map shocked interstellar clouds",
            "constrain the explosion energy and age",
            "study shock physics in the interstellar medium",
        ),
    ),
    "strong lensing": Vocabulary(
        ("Cosmology", "Galaxies"),
        (
            "strong gravitational lens",
            "lensing galaxy cluster",
            "Einstein ring system",
            "massive cluster with giant arcs",
        ),
        ("Strong Lenses", "Lensing Clusters", "Einstein Rings"),
        ("Abell {n}", "MACS J{n}+{n}", "SDSS J{n}+{n}", "RXC J{n}.{n}"),
        (
            "Strong gravitational lensing maps the total mass of galaxies and clusters, dark matter included.",
            "Massive clusters act as cosmic telescopes, magnifying galaxies in the early universe.",
        ),
        (
            "The image shows giant lensed arcs and multiple images of background sources around the brightest cluster galaxy (BCG).",
            "Galaxy-scale lenses produce near-complete Einstein rings, constraining the inner density slope.",
            "We will combine the strong lensing constraints with weak lensing (WL) shear to build the mass model.",
        ),
        (
            "build a strong lensing mass model",
            "constrain the dark matter profile",
            "study magnified high-redshift galaxies",
            "measure the Einstein radius",
        ),
    ),
    "deep field": Vocabulary(
        ("Cosmology", "Galaxies"),
        (
            "deep extragalactic field",
            "blank deep field",
            "deep survey field",
            "field of faint distant galaxies",
        ),
        ("Deep Fields", "Deep Extragalactic Surveys"),
        ("GOODS-{n}", "COSMOS-{n}", "UDS-{n}", "HUDF parallel {n}"),
        (
            "Deep imaging of blank fields charts the history of galaxy formation back to cosmic dawn.",
            "Counting faint galaxies across cosmic time constrains how galaxies build up their stars.",
        ),
        (
            "The field contains hundreds of faint, small galaxies of all shapes, and very few stars.",
            "We will select Lyman-break galaxies (LBGs) with the dropout technique and photometric redshifts (photo-z).",
            "The depth reaches AB=29, enough to detect galaxies at z>8.",
        ),
        (
            "measure galaxy number counts and sizes",
            "select high-redshift galaxy candidates",
            "trace the cosmic star formation history",
            "study galaxy morphology versus redshift",
        ),
    ),
    "gas giant": Vocabulary(
        ("Solar System", "Planetary Systems"),
        ("gas giant planet", "giant planet", "banded giant planet", "Jovian planet"),
        ("Giant Planet Atmospheres", "Gas Giants", "Outer Planets"),
        ("Jupiter", "Saturn", "Jupiter and Io", "Saturn system"),
        (
            "The atmospheres of the giant planets are natural laboratories for fluid dynamics on a planetary scale.",
            "Long-term monitoring of the outer planets reveals how their cloud bands and storms evolve.",
        ),
        (
            "The planet's banded cloud structure, with alternating zones and belts, is resolved across the disk.",
            "We will track the Great Red Spot (GRS) and smaller vortices to measure zonal wind speeds.",
            "Limb darkening and auroral emission will be measured in the UV with the same data.",
        ),
        (
            "measure zonal winds in the cloud bands",
            "monitor storms and vortices",
            "study atmospheric dynamics of the giant planets",
            "support the OPAL long-term planetary legacy program",
        ),
    ),
    "comet": Vocabulary(
        ("Solar System",),
        ("active comet", "long-period comet", "comet nucleus and coma", "Jupiter-family comet"),
        ("Comets", "Active Comets"),
        ("C/20{d} A{d}", "{d}P/Halley-like", "2I/Borisov", "C/19{d} O{d}"),
        (
            "Comets preserve the most pristine material left over from the formation of the solar system.",
            "The activity of comets near perihelion reveals the composition of their ices.",
        ),
        (
            "The images show a bright nucleus within a diffuse coma and a long dust tail, with the background stars trailed.",
            "We will measure the dust production rate (Afrho) and search for fragments of the nucleus.",
            "Because HST tracks the comet's motion, field stars appear as short streaks.",
        ),
        (
            "measure the nucleus size",
            "monitor coma and dust tail activity",
            "search for nucleus fragmentation",
            "study the composition of cometary ices",
        ),
    ),
    "protostellar jet": Vocabulary(
        ("Star Formation",),
        (
            "protostellar jet",
            "Herbig-Haro (HH) jet",
            "bipolar outflow from a young star",
            "collimated protostellar outflow",
        ),
        ("Protostellar Jets", "Herbig-Haro Objects", "Young Stellar Outflows"),
        ("HH {n}", "HH {n}/{n}", "IRAS {n}+{n}"),
        (
            "Jets from young stars remove angular momentum and regulate accretion onto protostars.",
            "Herbig-Haro flows trace the accretion history of protostars over thousands of years.",
        ),
        (
            "A narrow, knotty bipolar jet emerges from the embedded young stellar object (YSO) and ends in bow shocks.",
            "Multi-epoch [Fe II] and H-alpha imaging will measure the proper motions of the knots.",
            "The jet is launched within a few AU of the protostar and stays collimated over 0.3 pc.",
        ),
        (
            "measure proper motions of jet knots",
            "constrain the jet launching mechanism",
            "map bow shocks at the working surfaces",
            "reconstruct the accretion history of the protostar",
        ),
    ),
}

_DISTRACTORS = (
    "The proposed observations are coordinated with Chandra and ALMA programs.",
    "All data products will be released to the community through MAST immediately.",
    "Our team has developed a dedicated pipeline for PSF photometry and astrometry.",
    "These observations cannot be obtained from the ground because of atmospheric seeing.",
    "We request {orbits} orbits, split into {visits} visits to allow for scheduling flexibility.",
    "A pilot program in Cycle {cycle} demonstrated the feasibility of this approach.",
    "The target is visible in the continuous viewing zone (CVZ) for part of the cycle.",
    "Parallel observations with a second camera will be obtained at no extra cost.",
    "The exposure times were computed with the ETC assuming the standard sky background.",
    "The results will also benefit future JWST and Roman programs.",
)

_COMPARISONS = (
    "Unlike {other}, this target requires imaging at the highest resolution.",
    "Previous work on {other} used similar techniques, which we now extend.",
    "Archival images of {other} in the same field will be used as a photometric reference only.",
)

_AIMS = (
    "We propose {instrument} imaging of {target}, {a_object}, in {filters}.",
    "Here we request {orbits} orbits of {instrument} observations of the {object} {target}.",
    "We will observe {target}, one of the best-studied examples of {a_object}, with {instrument}.",
    "Using {instrument}, we will obtain deep {filters} images of {target}, {a_object}.",
)

_GOALS = (
    "These data will allow us to {a}, {b} and {c}.",
    "Our goals are to {a} and to {b}; in addition we will {c}.",
    "With these observations we will {a}. We will also {b}, and {c}.",
)

_CLOSINGS = (
    "The program will leave a lasting legacy for studies of {plural}.",
    "This is a unique opportunity that only HST can provide.",
    "The results will provide a benchmark for models of {plural}.",
    "",
)

_TITLES = (
    "A Deep {instrument} Study of {plural}",
    "Resolving {plural} with HST",
    "{plural} at High Resolution: {target}",
    "The Nature of {plural}: A Case Study of {target}",
    "Mapping {target}",
)

_SURNAMES = (
    "Anderson", "Bellini", "Chen", "Dalcanton", "Eriksen", "Fernandez", "Gupta", "Hoffmann", "Ito",
    "Jensen", "Kowalski", "Lopez", "Mbatha", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi",
    "Santos", "Tanaka", "Ueda", "Varga", "Weiss", "Xu", "Yilmaz", "Zhang",
)  # fmt: skip


def _article(phrase: str) -> str:
    return f"{'an' if phrase[0].lower() in 'aeiou' else 'a'} {phrase}"


def _lower(title: str) -> str:
    """Title case to running text, keeping proper nouns and acronyms ("Einstein Rings" -> "Einstein rings")."""
    keep = {"Einstein", "Galactic", "Herbig-Haro", "Local", "Volume"}
    return " ".join(w if w in keep or not w[1:].islower() else w.lower() for w in title.split())


def _name(pattern: str, rng: random.Random) -> str:
    """Fill a catalogue pattern: ``{n}`` a catalogue number, ``{d}`` two digits."""
    out = pattern
    while "{n}" in out:
        out = out.replace("{n}", str(rng.randint(1, 7999)), 1)
    while "{d}" in out:
        out = out.replace("{d}", f"{rng.randint(10, 99)}", 1)
    return out


def proposal_text(label: str, rng: random.Random, instrument: str, filters: list[str]) -> dict[str, str]:
    """Title, abstract, category, target and PI for one proposal about an object of ``label``."""
    v = VOCAB[label]
    target = _name(rng.choice(v.targets), rng)
    obj = rng.choice(v.objects)
    cycle = rng.randint(5, 31)
    fill = {
        "instrument": instrument,
        "target": target,
        "object": obj,
        "a_object": _article(obj),
        "filters": " and ".join(filters),
        "orbits": str(rng.randint(2, 60)),
        "visits": str(rng.randint(2, 12)),
        "cycle": str(cycle - 1),
        "plural": _lower(rng.choice(v.plural)),
    }
    uses = rng.sample(v.uses, 3)
    middle = [rng.choice(_AIMS).format(**fill), *rng.sample(v.details, rng.randint(1, 3))]
    for distractor in rng.sample(_DISTRACTORS, rng.randint(1, 3)):
        middle.insert(rng.randint(1, len(middle)), distractor.format(**fill))
    if rng.random() < 0.3:
        other = _article(rng.choice(VOCAB[rng.choice([k for k in VOCAB if k != label])].objects))
        middle.insert(rng.randint(1, len(middle)), rng.choice(_COMPARISONS).format(other=other))
    sentences = [
        rng.choice(v.motivation),
        *middle,
        rng.choice(_GOALS).format(a=uses[0], b=uses[1], c=uses[2]),
        rng.choice(_CLOSINGS).format(**fill),
    ]
    title = rng.choice(_TITLES).format(instrument=instrument, plural=rng.choice(v.plural), target=target)
    return {
        "title": title,
        "text": " ".join(s for s in sentences if s),
        "category": rng.choice(v.category),
        "target": target,
        "pi": f"{rng.choice('ABCDEFGHJKLMNPRSTVW')}. {rng.choice(_SURNAMES)}",
        "cycle": str(cycle),
    }

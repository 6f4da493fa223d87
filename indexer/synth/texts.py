"""Abstract-like proposal texts for the synthetic classes.

Written to give a caption step real work and a model varied language to learn from: the
object is named with varied synonyms and acronyms; each class has several sentences of
motivation, of what the target looks like in the images, of method and of science goals, all
written from the physics of the class; each proposal is written in one of several styles
(a classic abstract, a question first, the target first, a survey, an archival study), so no
stock sentence or structure identifies a class. Boilerplate and comparisons with other kinds
of object act as distractors. The class label itself is kept out of the text's fields.
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
    looks: tuple[str, ...]  # what the target looks like in the images
    questions: tuple[str, ...]  # the open questions a proposal may lead with
    details: tuple[str, ...]  # sentences with acronyms and specifics
    uses: tuple[str, ...]  # science goals, verb first


VOCAB: dict[str, Vocabulary] = {
    "spiral galaxy": Vocabulary(
        ("Galaxies",),
        (
            "grand-design spiral galaxy",
            "nearby spiral galaxy",
            "face-on spiral",
            "star-forming disk galaxy",
            "Sc galaxy",
            "two-armed spiral",
        ),
        ("Spiral Galaxies", "Nearby Spirals", "Grand-Design Spirals", "Star-Forming Disks"),
        ("NGC {n}", "M {n}", "UGC {n}"),
        (
            "Spiral arms are the main sites of star formation in disk galaxies, yet how they form and persist is still debated.",
            "The density-wave picture of spiral structure makes testable predictions for the ages of stars across the arms.",
            "Whether spiral patterns are long-lived waves or transient, recurrent features remains one of the oldest open questions in galactic dynamics.",
            "Most of the present-day star formation in the local universe happens in the disks of galaxies like the Milky Way.",
        ),
        (
            "Its prominent spiral arms are traced by young star clusters and HII regions.",
            "Seen nearly face-on, the disk shows a compact yellowish bulge surrounded by arms that wind outward for more than one full turn.",
            "Blue associations and red emission nebulae line the leading edges of the arms, with thin dust lanes on their concave side.",
            "The interarm regions are much fainter and redder than the arms, as expected if the arms compress the gas as it flows through them.",
            "Three arms branch from the inner disk, and feathers of dust cross the arms at large angles.",
        ),
        (
            "How quickly do clouds turn into stars once they enter a spiral arm?",
            "Do the arms rotate like a rigid pattern or wind up with the stars?",
        ),
        (
            "We will map the age gradient of stellar associations across the arms, from the dust lanes on their inner edge outward.",
            "Ground-based H-alpha imaging shows a well-defined two-armed pattern and a small classical bulge.",
            "Cepheid variables in the disk will give an independent distance, tying the physical scale of the arms to the kinematics.",
            "Integral-field spectroscopy (IFS) from the ground provides the gas velocity field for comparison with the stellar ages.",
        ),
        (
            "measure the star formation rate (SFR) along the spiral arms",
            "test density-wave theory",
            "age-date young star clusters in the disk",
            "map dust lanes and HII regions",
            "measure the pitch angle of the arms at several wavelengths",
            "compare arm and interarm cluster mass functions",
        ),
    ),
    "barred spiral galaxy": Vocabulary(
        ("Galaxies",),
        (
            "barred spiral galaxy",
            "strongly barred disk galaxy",
            "SB-type spiral",
            "barred galaxy",
            "SBc galaxy",
            "disk galaxy with a stellar bar",
        ),
        ("Barred Spirals", "Barred Disk Galaxies", "Bars in Disk Galaxies"),
        ("NGC {n}", "IC {n}"),
        (
            "Stellar bars redistribute angular momentum and drive gas toward the centres of disk galaxies.",
            "Roughly two thirds of nearby disk galaxies host a stellar bar, a key agent of secular evolution.",
            "Bars are the strongest non-axisymmetric features in disks and can build pseudobulges over a few billion years.",
            "Simulations predict that bars slow down as they lose angular momentum to the dark halo, a prediction that is hard to test.",
        ),
        (
            "The galaxy shows a strong central bar whose ends connect to two spiral arms and an inner ring.",
            "An elongated, almost rectangular concentration of old stars crosses the nucleus, with straight dust lanes along its leading sides.",
            "The arms do not reach the nucleus; they begin where the bar ends, near a faint ring of young clusters.",
            "Along the bar the light is smooth and red, while the ring around its ends is blue and knotty.",
            "A small nuclear ring of star formation sits inside the bar, fed by gas that has lost its angular momentum.",
        ),
        (
            "How fast does the bar rotate, and is it slowing down?",
            "Does gas driven inward by the bar build a central disk or feed the black hole?",
        ),
        (
            "Bar-driven inflow should feed a nuclear ring; the bar pattern speed is poorly constrained.",
            "We will resolve the stellar populations along the bar and in the inner ring at the corotation radius (CR).",
            "Fourier decomposition of the near-infrared light will give the bar strength and length.",
            "CO maps from the Atacama Large Millimeter Array (ALMA) show gas piling up at the ends of the bar and along its offset dust lanes.",
        ),
        (
            "measure the bar length and strength",
            "trace bar-driven gas inflow toward the nucleus",
            "study secular evolution of barred disks",
            "constrain the pattern speed of the bar",
            "age-date the clusters in the nuclear and inner rings",
            "test whether the bar has thickened into a boxy bulge",
        ),
    ),
    "elliptical galaxy": Vocabulary(
        ("Galaxies",),
        (
            "giant elliptical galaxy",
            "massive early-type galaxy",
            "elliptical galaxy",
            "early-type galaxy (ETG)",
            "brightest group galaxy",
            "red and dead elliptical",
        ),
        ("Elliptical Galaxies", "Early-Type Galaxies", "Massive Ellipticals", "Quiescent Galaxies"),
        ("NGC {n}", "M {n}", "ESO {n}-G0{n}"),
        (
            "Massive elliptical galaxies are thought to assemble through dry mergers, leaving smooth, featureless light profiles.",
            "Early-type galaxies hold most of the stellar mass in the local universe, yet their assembly history is poorly known.",
            "The most massive galaxies stopped forming stars more than ten billion years ago, and the cause of this quenching is debated.",
            "The outer envelopes of giant galaxies grow by accreting smaller neighbours, so their halos record the late assembly.",
        ),
        (
            "Its smooth de Vaucouleurs (r^1/4) light profile and rich globular cluster (GC) system make it an ideal target.",
            "Its surface brightness declines with radius as a Sersic profile of index near four, free of dust and young stars, and point-like clusters swarm around it.",
            "Isophotes are slightly boxy ellipses whose orientation twists by a few degrees with radius.",
            "The stellar populations are uniformly old and red, with no sign of recent star formation in the UV.",
            "A faint extended halo reaches several effective radii and hosts a few low-surface-brightness shells.",
        ),
        (
            "When did the stars of the most massive galaxies form, and when did they arrive?",
            "What keeps the hot gas around giant galaxies from cooling into new stars?",
        ),
        (
            "We will use surface brightness fluctuations (SBF) to measure its distance and the shape of its isophotes.",
            "Earlier WFPC2 data revealed a central cusp but no dust; the outer halo remains unexplored.",
            "Integral-field unit (IFU) kinematics show slow rotation, typical of systems built by many mergers.",
            "The colours of its globular clusters split into a blue and a red population.",
        ),
        (
            "measure the central surface brightness profile",
            "map the globular cluster system of the halo",
            "search for shells and tidal debris from dry mergers",
            "constrain the mass of the central supermassive black hole (SMBH)",
            "measure the colour gradient of the old stellar population",
            "derive the distance from surface brightness fluctuations",
        ),
    ),
    "edge-on disk galaxy": Vocabulary(
        ("Galaxies", "ISM and Circumstellar Matter"),
        (
            "edge-on disk galaxy",
            "edge-on spiral",
            "galaxy seen edge-on",
            "thin disk galaxy",
            "superthin galaxy",
            "highly inclined disk galaxy",
        ),
        ("Edge-On Galaxies", "Edge-On Disks", "Superthin Disks"),
        ("NGC {n}", "UGC {n}", "IC {n}"),
        (
            "Edge-on galaxies offer a unique view of the vertical structure of disks and of extraplanar dust.",
            "The thick and thin disks of galaxies record their heating and accretion history.",
            "Only when a disk is viewed in projection along its plane can its vertical profile be measured directly.",
            "Gas and dust expelled by star formation may rise kiloparsecs above a disk and rain back down.",
        ),
        (
            "A prominent dust lane bisects the disk along its midplane, with filaments rising into the halo.",
            "The galaxy is inclined by more than 85 degrees, so the dust lane and the extraplanar diffuse ionized gas (eDIG) are clearly separated.",
            "The disk appears as a long narrow streak of light with a small central bulge and a dark band along its length.",
            "Its axis ratio is about ten to one, and the stellar light thickens slightly toward the ends of the disk.",
            "Above and below the midplane, faint vertical dust plumes are silhouetted against the stellar light.",
        ),
        (
            "How did the thick disk form: by heating a thin disk or by accretion of satellites?",
            "How far above the plane do dust and gas travel before falling back?",
        ),
        (
            "We will measure the scale heights of the thin and thick disks and the vertical extent of the dust.",
            "Radiative-transfer (RT) modelling of the dust lane will give the dust mass and its scale height.",
            "The disk warps slightly at large radii, a possible sign of a recent interaction.",
            "HI observations show the gas layer flaring in the outer disk.",
        ),
        (
            "map the dust lane and extraplanar dust filaments",
            "measure thin and thick disk scale heights",
            "study vertical structure of galactic disks",
            "trace the disk-halo interface",
            "model the dust with radiative transfer",
            "measure the warp of the outer disk",
        ),
    ),
    "dwarf irregular galaxy": Vocabulary(
        ("Stellar Populations", "Galaxies"),
        (
            "dwarf irregular galaxy",
            "gas-rich dwarf galaxy",
            "Magellanic-type irregular",
            "dIrr galaxy",
            "low-mass star-forming dwarf",
            "irregular dwarf galaxy",
        ),
        ("Dwarf Irregular Galaxies", "Local Volume Dwarfs", "Gas-Rich Dwarfs", "Star-Forming Dwarfs"),
        ("DDO {n}", "UGCA {n}", "Leo {n}", "WLM"),
        (
            "Dwarf irregular galaxies are the most common galaxies in the universe and the closest analogues of the building blocks of larger systems.",
            "Low-metallicity dwarfs probe star formation in conditions like those of the early universe.",
            "With shallow potential wells, small galaxies are the most sensitive to feedback from supernovae and to reionization.",
            "Nearby low-mass galaxies can be resolved into single stars, so their full star formation history can be read from their populations.",
        ),
        (
            "The galaxy is resolved into individual stars, with clumpy, irregular star-forming regions.",
            "There is no bulge, bar or spiral pattern; the light is broken into a few blue star-forming complexes scattered over a diffuse body.",
            "Its metallicity is only a tenth of solar, and HI maps show a disturbed gas distribution.",
            "The brightest stars are young blue supergiants, while an extended red component of older giants surrounds them.",
            "The visible body is only a few kiloparsecs across and has a lumpy, asymmetric outline.",
        ),
        (
            "How do the smallest galaxies keep forming stars when a few supernovae can blow their gas away?",
            "Did reionization halt star formation in the faintest galaxies?",
        ),
        (
            "We will construct deep colour-magnitude diagrams (CMDs) reaching below the red clump (RC) and the tip of the red giant branch (TRGB).",
            "HI synthesis maps from the Very Large Array (VLA) show the gas extends well beyond the stars.",
            "Its luminosity is about a thousandth of the Milky Way's.",
            "Recent star formation is concentrated in a handful of bright complexes.",
        ),
        (
            "derive the star formation history (SFH) from resolved stars",
            "measure the TRGB distance",
            "study star formation at low metallicity",
            "map the distribution of young and old stellar populations",
            "test feedback models with resolved stellar populations",
            "measure the age of the oldest stars",
        ),
    ),
    "interacting galaxies": Vocabulary(
        ("Galaxies",),
        (
            "interacting galaxy pair",
            "merging galaxies",
            "colliding galaxy pair",
            "galaxy merger",
            "pair of interacting spirals",
            "late-stage merger",
        ),
        ("Interacting Galaxies", "Galaxy Mergers", "Colliding Galaxies", "Galaxy Pairs"),
        ("Arp {n}", "NGC {n}/{n}", "VV {n}"),
        (
            "Galaxy interactions trigger starbursts, build bulges and fuel active nuclei.",
            "Mergers reshape galaxies, and the tidal features they leave behind record the encounter geometry.",
            "In the hierarchical picture, every large galaxy has grown through encounters with its neighbours.",
            "Gravitational torques during a close passage can drive much of a disk's gas into its centre in a few hundred million years.",
        ),
        (
            "The two galaxies are connected by a bridge and show long tidal tails extending far from the pair.",
            "Both disks are strongly distorted: one arm of each has been drawn out into a curved plume, and their nuclei are only a few kiloparsecs apart.",
            "Super star clusters (SSCs) and tidal dwarf galaxy candidates line the tails.",
            "The overlap region between the two disks is crossed by chaotic dust lanes and bright knots of star formation.",
            "A faint loop of stars wraps around the larger galaxy, debris from an earlier passage.",
        ),
        (
            "How much of the star formation in a merger happens in the tails rather than the nuclei?",
            "Will the pair merge into a single spheroidal galaxy?",
        ),
        (
            "N-body simulations suggest the first pericentre passage occurred about 300 Myr ago.",
            "The far-infrared (FIR) luminosity of the system is dominated by the dusty overlap region.",
            "Ground-based spectroscopy gives a velocity difference of about 200 km/s between the nuclei.",
            "Radio continuum maps reveal a compact starburst in one of the nuclei.",
        ),
        (
            "map tidal tails and bridges",
            "age-date star clusters formed in the interaction",
            "constrain the merger geometry with N-body models",
            "study interaction-triggered star formation",
            "search for tidal dwarf galaxies",
            "measure cluster formation efficiency in the overlap region",
        ),
    ),
    "globular cluster": Vocabulary(
        ("Stellar Populations", "Stellar Physics"),
        (
            "globular cluster",
            "old Galactic globular cluster",
            "massive star cluster",
            "Milky Way globular (GC)",
            "metal-poor globular cluster",
            "core-collapsed globular",
        ),
        ("Globular Clusters", "Galactic Globular Clusters", "Old Star Clusters"),
        ("NGC {n}", "M {n}", "Palomar {n}"),
        (
            "Globular clusters are among the oldest objects in the Galaxy and set a lower bound on the age of the universe.",
            "The discovery of multiple stellar populations has overturned the view of globular clusters as simple stellar populations.",
            "With a million stars in a few parsecs, these systems are where stellar encounters shape binaries and produce exotic objects.",
            "The halo's oldest star clusters trace the early assembly of the Milky Way.",
        ),
        (
            "The cluster core is densely packed with thousands of resolved stars.",
            "The stellar density rises steeply toward the centre, where the images blend into a bright unresolved glow.",
            "Its outline is nearly circular, with a half-light radius of a few parsecs and a tidal radius beyond the field.",
            "The brightest members are red giants; the core also hosts a population of blue stragglers.",
            "Surrounding field contamination is low, since the cluster lies high above the Galactic plane.",
        ),
        (
            "How did clusters this old form several generations of stars?",
            "How many black holes remain at the centres of old star clusters?",
        ),
        (
            "We will measure proper motions (PMs) of stars in the core, and the horizontal branch (HB) and main-sequence turnoff (MSTO).",
            "Blue stragglers and millisecond pulsars (MSPs) make the core a laboratory of stellar dynamics.",
            "Its iron abundance is about a hundredth of solar.",
            "UV filters separate the multiple populations (MPs) by their nitrogen and helium content.",
        ),
        (
            "measure the cluster age from the main-sequence turnoff",
            "search for multiple stellar populations",
            "study core collapse and mass segregation",
            "measure internal proper motions",
            "search for an intermediate-mass black hole in the core",
            "count blue stragglers and cataclysmic variables",
        ),
    ),
    "open cluster": Vocabulary(
        ("Stellar Populations", "Star Formation"),
        (
            "open cluster",
            "young open star cluster",
            "Galactic open cluster",
            "loose stellar association",
            "OB association",
            "intermediate-age open cluster",
        ),
        ("Open Clusters", "Young Star Clusters", "Stellar Associations"),
        ("NGC {n}", "Collinder {n}", "Berkeley {n}", "Trumpler {n}"),
        (
            "Open clusters are the benchmarks of stellar evolution: coeval, at one distance and with one chemistry.",
            "Most stars are born in clusters that disperse into the field within a few hundred Myr.",
            "Young clusters in the Galactic disk show how star-forming regions turn into the field population.",
            "The mass function of newly formed stars appears nearly universal, yet its low-mass end is poorly measured.",
        ),
        (
            "The cluster contains a few dozen bright, sparsely distributed stars with little central concentration.",
            "Its members spread over several arcminutes without a dense core, and many field stars of the disk lie in front and behind.",
            "The brightest members are hot main-sequence stars; only a few have evolved into giants.",
            "A modest reddening and some residual nebulosity suggest the cluster is only tens of millions of years old.",
            "The stars are spread unevenly, in small subgroups that may be the remains of separate birth sites.",
        ),
        (
            "How quickly do young clusters dissolve into the field?",
            "Is the mass function at the low-mass end the same in every cluster?",
        ),
        (
            "Gaia astrometry has identified members down to G=18; we will extend the census to brown dwarfs (BDs).",
            "We will derive the initial mass function (IMF) and test models of cluster dissolution.",
            "The cluster lies in the Galactic plane at about 1.5 kpc.",
            "The lithium depletion boundary (LDB) of its low-mass members gives an independent age.",
        ),
        (
            "measure the initial mass function (IMF) of the cluster",
            "trace cluster dissolution into the field",
            "calibrate stellar evolution models",
            "search for low-mass members",
            "measure the cluster's velocity dispersion with proper motions",
            "find the main-sequence turn-on of the pre-main-sequence stars",
        ),
    ),
    "crowded stellar field": Vocabulary(
        ("Stellar Populations",),
        (
            "crowded stellar field",
            "dense bulge field",
            "crowded field of stars",
            "Galactic bulge star field",
            "inner Galaxy field",
            "low-latitude bulge window",
        ),
        ("Crowded Fields", "Bulge Fields", "Dense Stellar Fields", "Inner Milky Way Fields"),
        ("Baade's Window", "Sgr-I field", "Bulge field {n}", "OGLE-BLG-{n}"),
        (
            "The Galactic bulge contains a quarter of the Milky Way's stars, yet its formation history remains contentious.",
            "Microlensing surveys monitor millions of bulge stars, but only HST resolves the crowded fields.",
            "Whether the bulge formed early in a collapse or later from the disk through a bar can be decided by the ages of its stars.",
            "Low-extinction windows toward the Galactic centre let us see through the disk to the inner Galaxy.",
        ),
        (
            "Stars cover the entire field with no clear centre, so photometry must handle extreme crowding.",
            "We will use PSF-fitting photometry on a field with more than 100,000 stars per square arcminute.",
            "Every part of the detector is covered by point sources of all brightnesses, with no background galaxies visible through the disk.",
            "The stellar density is roughly uniform across the frame, apart from patchy extinction from foreground dust clouds.",
            "Bulge red giants and a foreground disk main sequence overlap on the colour-magnitude diagram.",
        ),
        (
            "How old is the Galactic bulge, and did it form from the disk?",
            "How many planets orbit stars in the inner Galaxy?",
        ),
        (
            "Time-series imaging will reveal variables, eclipsing binaries (EBs) and microlensing events.",
            "A second epoch separates bulge and disk stars by their proper motions (PMs).",
            "Differential reddening is corrected with a high-resolution extinction map.",
            "Photometric metallicities will be derived from the colour of the red giant branch.",
        ),
        (
            "measure the age and metallicity distribution of bulge stars",
            "detect microlensing events and their astrometric signals",
            "separate disk and bulge populations by proper motion",
            "calibrate crowded-field photometry",
            "search for free-floating planets through short events",
            "map the extinction toward the inner Galaxy",
        ),
    ),
    "planetary nebula": Vocabulary(
        ("ISM and Circumstellar Matter", "Stellar Physics"),
        (
            "planetary nebula",
            "young planetary nebula (PN)",
            "compact PN",
            "bipolar planetary nebula",
            "ring nebula",
            "elliptical planetary nebula",
        ),
        ("Planetary Nebulae", "Young PNe", "Post-AGB Nebulae"),
        ("NGC {n}", "IC {n}", "Hen 2-{n}", "PN G{d}.{d}"),
        (
            "Planetary nebulae mark the final ejection of the envelope of low- and intermediate-mass stars.",
            "How round stars produce the striking shapes of planetary nebulae is a long-standing puzzle.",
            "The nebulae return carbon and nitrogen made inside Sun-like stars to the interstellar medium.",
            "The transition from the asymptotic giant branch (AGB) to a white dwarf takes only a few thousand years.",
        ),
        (
            "The nebula shows a bright elliptical shell around a hot central star (CSPN) with a faint outer halo.",
            "A nearly circular ring of emission, brightest at its rim, surrounds a faint blue star at the exact centre.",
            "Some shells have bipolar lobes, which may be shaped by a binary companion or magnetic fields.",
            "Concentric arcs outside the main shell record episodes of mass loss a few centuries apart.",
            "Dense knots with tails pointing away from the star line the inner edge of the shell.",
        ),
        (
            "What turns a spherical wind from a dying star into a shaped nebula?",
            "How many central stars of these nebulae have close companions?",
        ),
        (
            "Narrow-band [O III] and H-alpha images will map the ionization structure of the shell.",
            "The central star has an effective temperature near 100,000 K.",
            "Expansion velocities of about 25 km/s give a kinematic age of a few thousand years.",
            "Radial-velocity (RV) monitoring of the central star suggests a binary period of a few days.",
        ),
        (
            "map the ionization structure of the shell",
            "measure the expansion of the nebula",
            "test binary shaping models",
            "characterise the central star",
            "measure the expansion parallax for a distance",
            "study the cometary knots in the shell",
        ),
    ),
    "supernova remnant": Vocabulary(
        ("ISM and Circumstellar Matter",),
        (
            "supernova remnant",
            "young supernova remnant (SNR)",
            "expanding SNR shell",
            "remnant of a supernova",
            "Balmer-dominated remnant",
            "oxygen-rich remnant",
        ),
        ("Supernova Remnants", "Galactic SNRs", "Young SNRs", "Shocks in Supernova Remnants"),
        ("Cas A", "SN 19{d}A", "Kes {d}", "N{d}", "G{d}.{d}-0.{d}"),
        (
            "Supernova remnants enrich the interstellar medium with heavy elements and accelerate cosmic rays.",
            "The shock waves of supernova remnants shape and heat the interstellar medium.",
            "Young remnants carry the fingerprints of the explosion: its asymmetry, its energy and the elements it made.",
            "A blast wave moving at thousands of km/s sweeps up the surrounding gas for tens of thousands of years.",
        ),
        (
            "The remnant is a large, broken shell of thin filaments where the blast wave meets interstellar clouds.",
            "Thin, sharp arcs outline the forward shock, while clumps of fast ejecta appear as bright knots inside.",
            "The shell is incomplete: on one side the filaments are bright and tangled where the shock hits a dense cloud.",
            "The emission is concentrated in sinuous filaments with almost nothing between them.",
            "A faint, nearly circular rim marks the edge of the blast wave in the lower-density gas.",
        ),
        (
            "How much energy did the explosion release, and was it symmetric?",
            "Where in the remnant are cosmic rays being accelerated?",
        ),
        (
            "Our second epoch will measure the proper motions of the filaments to obtain the expansion age.",
            "The shock front is seen in H-alpha and [S II]; X-ray (Chandra) data trace the hot ejecta.",
            "The shock velocity derived from the full width at half maximum (FWHM) of the Balmer lines is about 2000 km/s.",
            "The remnant is a few thousand years old and about 20 parsecs across.",
        ),
        (
            "measure the expansion of the shell filaments",
            "map shocked interstellar clouds",
            "constrain the explosion energy and age",
            "study shock physics in the interstellar medium",
            "measure ejecta abundances in the fast knots",
            "compare the optical shock with the X-ray rim",
        ),
    ),
    "strong lensing": Vocabulary(
        ("Cosmology", "Galaxies"),
        (
            "strong gravitational lens",
            "lensing galaxy cluster",
            "Einstein ring system",
            "massive cluster with giant arcs",
            "galaxy-scale lens",
            "cluster lens",
        ),
        ("Strong Lenses", "Lensing Clusters", "Einstein Rings", "Cosmic Telescopes"),
        ("Abell {n}", "MACS J{n}+{n}", "SDSS J{n}+{n}", "RXC J{n}.{n}"),
        (
            "Strong gravitational lensing maps the total mass of galaxies and clusters, dark matter included.",
            "Massive clusters act as cosmic telescopes, magnifying galaxies in the early universe.",
            "Where a foreground mass is dense enough, a single background galaxy is imaged several times.",
            "The positions of multiply imaged sources measure the projected mass with a precision of a few percent.",
        ),
        (
            "The image shows giant lensed arcs and multiple images of background sources around the brightest cluster galaxy (BCG).",
            "Galaxy-scale lenses produce near-complete Einstein rings, constraining the inner density slope.",
            "Thin tangential arcs curve around the cluster centre at a radius of about 30 arcseconds.",
            "Blue distorted images of distant galaxies appear among the yellow elliptical members of the cluster.",
            "A red foreground galaxy is encircled by a blue ring broken into four bright images.",
        ),
        (
            "How is dark matter distributed in the cores of the most massive clusters?",
            "What do the faintest galaxies at redshift 8 look like when magnified twenty times?",
        ),
        (
            "We will combine the strong lensing constraints with weak lensing (WL) shear to build the mass model.",
            "Spectroscopic redshifts of 40 multiple images are available from the Multi Unit Spectroscopic Explorer (MUSE).",
            "The cluster is one of the most X-ray luminous known at redshift 0.4.",
            "Time delays between images of a variable source measure the Hubble constant.",
        ),
        (
            "build a strong lensing mass model",
            "constrain the dark matter profile",
            "study magnified high-redshift galaxies",
            "measure the Einstein radius",
            "identify new multiple-image systems",
            "measure time delays between lensed images",
        ),
    ),
    "deep field": Vocabulary(
        ("Cosmology", "Galaxies"),
        (
            "deep extragalactic field",
            "blank deep field",
            "deep survey field",
            "field of faint distant galaxies",
            "ultra-deep field",
            "high-latitude survey field",
        ),
        ("Deep Fields", "Deep Extragalactic Surveys", "Faint Galaxy Surveys"),
        ("GOODS-{n}", "COSMOS-{n}", "UDS-{n}", "HUDF parallel {n}"),
        (
            "Deep imaging of blank fields charts the history of galaxy formation back to cosmic dawn.",
            "Counting faint galaxies across cosmic time constrains how galaxies build up their stars.",
            "The first billion years after the Big Bang can only be reached with the deepest exposures.",
            "Galaxy sizes and shapes change dramatically from redshift 3 to today, and only the deepest images follow this.",
        ),
        (
            "The field contains hundreds of faint, small galaxies of all shapes, and very few stars.",
            "Chosen at high Galactic latitude to avoid bright stars, the field is dominated by compact, distant galaxies of all colours.",
            "The depth reaches AB=29, enough to detect galaxies at z>8.",
            "Most sources are barely resolved, clumpy or irregular, as expected for young galaxies.",
            "Only a handful of foreground stars and a few nearby galaxies appear among thousands of distant ones.",
        ),
        (
            "When did the first galaxies form, and how many were there?",
            "How did galaxies acquire their present shapes?",
        ),
        (
            "We will select Lyman-break galaxies (LBGs) with the dropout technique and photometric redshifts (photo-z).",
            "The total exposure time is more than 100 orbits in each filter, as in the Ultra Deep Field (UDF).",
            "Parallel fields will reduce the effect of cosmic variance on the number counts.",
            "Spectroscopic follow-up with the James Webb Space Telescope (JWST) will confirm the highest-redshift candidates.",
        ),
        (
            "measure galaxy number counts and sizes",
            "select high-redshift galaxy candidates",
            "trace the cosmic star formation history",
            "study galaxy morphology versus redshift",
            "measure the ultraviolet luminosity function",
            "search for faint active nuclei",
        ),
    ),
    "gas giant": Vocabulary(
        ("Solar System", "Planetary Systems"),
        (
            "gas giant planet",
            "giant planet",
            "banded giant planet",
            "Jovian planet",
            "outer planet",
            "giant planet atmosphere",
        ),
        ("Giant Planet Atmospheres", "Gas Giants", "Outer Planets", "Jovian Atmospheres"),
        ("Jupiter", "Saturn", "Jupiter and Io", "Saturn system"),
        (
            "The atmospheres of the giant planets are natural laboratories for fluid dynamics on a planetary scale.",
            "Long-term monitoring of the outer planets reveals how their cloud bands and storms evolve.",
            "The giant planets formed first and shaped the architecture of the solar system.",
            "Their deep interiors and weather layers are driven by internal heat as well as sunlight.",
        ),
        (
            "The planet's banded cloud structure, with alternating zones and belts, is resolved across the disk.",
            "We will track the Great Red Spot (GRS) and smaller vortices to measure zonal wind speeds.",
            "Light and dark stripes run parallel to the equator, interrupted by white ovals and a large reddish anticyclone.",
            "The disk is slightly flattened by rapid rotation and darkens toward the limb.",
            "Turbulent wakes trail behind the large storms, and a bright plume has erupted in one belt.",
        ),
        (
            "What powers the jets and storms of the giant planets?",
            "Why has the largest storm in the solar system been shrinking?",
        ),
        (
            "Limb darkening and auroral emission will be measured in the UV with the same data.",
            "Two rotations are imaged in each visit, giving global maps ten hours apart.",
            "Methane-band filters probe cloud heights, as in the Outer Planet Atmospheres Legacy (OPAL) images.",
            "Images are coordinated with the Juno spacecraft's close passes.",
        ),
        (
            "measure zonal winds in the cloud bands",
            "monitor storms and vortices",
            "study atmospheric dynamics of the giant planets",
            "support the OPAL long-term planetary legacy program",
            "measure cloud heights with methane-band filters",
            "track the colour changes of the belts",
        ),
    ),
    "comet": Vocabulary(
        ("Solar System",),
        (
            "active comet",
            "long-period comet",
            "comet nucleus and coma",
            "Jupiter-family comet",
            "dynamically new comet",
            "sungrazing comet",
        ),
        ("Comets", "Active Comets", "Cometary Nuclei"),
        ("C/20{d} A{d}", "{d}P/Halley-like", "2I/Borisov", "C/19{d} O{d}"),
        (
            "Comets preserve the most pristine material left over from the formation of the solar system.",
            "The activity of comets near perihelion reveals the composition of their ices.",
            "Objects arriving from the Oort cloud for the first time carry ices that have never been heated.",
            "The outgassing of volatile ices lifts dust off the surface and can split a nucleus apart.",
        ),
        (
            "The images show a bright nucleus within a diffuse coma and a long dust tail, with the background stars trailed.",
            "Because HST tracks the comet's motion, field stars appear as short streaks.",
            "A compact bright condensation sits at the head of a fan-shaped cloud that widens away from the Sun.",
            "Jets of dust emerge on the sunward side and curve back into a broad tail.",
            "The coma is asymmetric, brighter toward the Sun, and a narrow ion tail points straight away from it.",
        ),
        (
            "How big is the nucleus, and what fraction of its surface is active?",
            "What were the ices of the early solar system made of?",
        ),
        (
            "We will measure the dust production rate (Afrho) and search for fragments of the nucleus.",
            "The comet passes within 1.2 au of the Sun in the coming cycle.",
            "Ultraviolet spectra from the Cosmic Origins Spectrograph (COS) will measure the water production through the OH bands.",
            "Images at several epochs follow the activity as the heliocentric distance changes.",
        ),
        (
            "measure the nucleus size",
            "monitor coma and dust tail activity",
            "search for nucleus fragmentation",
            "study the composition of cometary ices",
            "measure the water production rate",
            "measure the rotation period of the nucleus",
        ),
    ),
    "protostellar jet": Vocabulary(
        ("Star Formation",),
        (
            "protostellar jet",
            "Herbig-Haro (HH) jet",
            "bipolar outflow from a young star",
            "collimated protostellar outflow",
            "jet from an embedded protostar",
            "young stellar jet",
        ),
        ("Protostellar Jets", "Herbig-Haro Objects", "Young Stellar Outflows", "Jets from Young Stars"),
        ("HH {n}", "HH {n}/{n}", "IRAS {n}+{n}"),
        (
            "Jets from young stars remove angular momentum and regulate accretion onto protostars.",
            "Herbig-Haro flows trace the accretion history of protostars over thousands of years.",
            "Every star appears to drive a jet during its first hundred thousand years, while it is still accreting.",
            "Outflows inject momentum into their parent clouds and may limit how many stars form there.",
        ),
        (
            "A narrow, knotty bipolar jet emerges from the embedded young stellar object (YSO) and ends in bow shocks.",
            "The jet is launched within a few AU of the protostar and stays collimated over 0.3 pc.",
            "A chain of bright knots extends in two opposite directions from a dark, dusty core that hides the source.",
            "Curved shock fronts open like arrowheads at the ends of the flow, where it rams into the surrounding gas.",
            "The flow wiggles slightly, as if the source precesses or orbits a companion.",
        ),
        (
            "How are jets launched and collimated so close to a forming star?",
            "Does the knotty structure record bursts of accretion?",
        ),
        (
            "Multi-epoch [Fe II] and H-alpha imaging will measure the proper motions of the knots.",
            "Knot velocities of 200-300 km/s imply ejection episodes every few decades.",
            "The driving source is visible only in the near-infrared (NIR).",
            "The outflow lies in a nearby molecular cloud at about 400 pc.",
        ),
        (
            "measure proper motions of jet knots",
            "constrain the jet launching mechanism",
            "map bow shocks at the working surfaces",
            "reconstruct the accretion history of the protostar",
            "measure the jet's precession",
            "estimate the momentum the outflow injects into the cloud",
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
    "{instrument} can resolve {target}, {a_object}, on the scales that matter, and we ask for {orbits} orbits to do so.",
)

_GOALS = (
    "These data will allow us to {a}, {b} and {c}.",
    "Our goals are to {a} and to {b}; in addition we will {c}.",
    "With these observations we will {a}. We will also {b}, and {c}.",
    "Specifically, we aim to {a}, to {b}, and to {c}.",
    "The program has three aims: (1) {a}; (2) {b}; (3) {c}.",
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
    "{target}: {a_object_title}",
    "A Snapshot Survey of {plural}",
    "Archival Constraints on {plural}",
    "{target} Revisited",
)


def _classic(v: Vocabulary, rng: random.Random, fill: dict[str, str], goals: str) -> list[str]:
    """Motivation, the request, what the target looks like and how, then the goals."""
    middle = [rng.choice(_AIMS).format(**fill), *rng.sample(v.looks, rng.randint(1, 2))]
    middle += rng.sample(v.details, rng.randint(1, 2))
    return [rng.choice(v.motivation), *middle, goals, rng.choice(_CLOSINGS).format(**fill)]


def _question(v: Vocabulary, rng: random.Random, fill: dict[str, str], goals: str) -> list[str]:
    """An open question first, then why it matters, the target and the plan."""
    return [
        rng.choice(v.questions),
        rng.choice(v.motivation),
        f"We address this with {fill['instrument']} images of {fill['target']}.",
        *rng.sample(v.looks, rng.randint(1, 2)),
        *rng.sample(v.details, rng.randint(1, 2)),
        goals,
    ]


def _target_first(v: Vocabulary, rng: random.Random, fill: dict[str, str], goals: str) -> list[str]:
    """The target and what earlier images show, then the request."""
    return [
        f"{fill['target']} is {fill['a_object']} {rng.choice(_DISTANCES)}.",
        *rng.sample(v.looks, rng.randint(1, 3)),
        rng.choice(v.motivation),
        f"We request {fill['orbits']} orbits of {fill['instrument']} time in {fill['filters']}.",
        rng.choice(v.details),
        goals,
    ]


def _survey(v: Vocabulary, rng: random.Random, fill: dict[str, str], goals: str) -> list[str]:
    """A sample, terse: what the sample is, a typical member, the goals."""
    return [
        f"We propose {_article(fill['instrument'])} snapshot survey of {fill['count']} {fill['plural']}, "
        f"including {fill['target']}, {fill['a_object']}.",
        rng.choice(v.motivation),
        f"A typical target: {_lower_first(rng.choice(v.looks))}",
        rng.choice(v.details),
        goals,
        rng.choice(_CLOSINGS).format(**fill),
    ]


def _archival(v: Vocabulary, rng: random.Random, fill: dict[str, str], goals: str) -> list[str]:
    """An archival analysis of existing images."""
    return [
        rng.choice(v.motivation),
        f"The HST archive already holds {fill['instrument']} images of {fill['target']}, {fill['a_object']}, never analysed for this purpose.",
        *rng.sample(v.looks, rng.randint(1, 2)),
        rng.choice(v.details),
        goals,
    ]


_STYLES = (_classic, _classic, _question, _target_first, _survey, _archival)

_DISTANCES = (
    "at a distance that HST resolves well",
    "that has been studied from the ground for decades",
    "with excellent ancillary data",
    "and one of the nearest of its kind",
    "observed by HST in an earlier cycle",
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
    keep = {"Einstein", "Galactic", "Herbig-Haro", "Local", "Volume", "Milky", "Way", "Post-AGB"}
    return " ".join(w if w in keep or not w[1:].islower() else w.lower() for w in title.split())


def _lower_first(sentence: str) -> str:
    """A sentence continued after a colon: its first word lower-cased unless it is a name or acronym."""
    first, _, rest = sentence.partition(" ")
    return f"{first.lower() if first[1:].islower() else first} {rest}"


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
        "count": str(rng.randint(8, 60)),
        "plural": _lower(rng.choice(v.plural)),
    }
    a, b, c = rng.sample(v.uses, 3)
    sentences = rng.choice(_STYLES)(v, rng, fill, rng.choice(_GOALS).format(a=a, b=b, c=c))
    for distractor in rng.sample(_DISTRACTORS, rng.randint(1, 3)):
        sentences.insert(rng.randint(1, len(sentences)), distractor.format(**fill))
    if rng.random() < 0.3:
        other = _article(rng.choice(VOCAB[rng.choice([k for k in VOCAB if k != label])].objects))
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(_COMPARISONS).format(other=other))
    title = rng.choice(_TITLES).format(
        instrument=instrument,
        plural=rng.choice(v.plural),
        target=target,
        a_object_title=" ".join(w[:1].upper() + w[1:] for w in _article(obj).split()),
    )
    return {
        "title": title,
        "text": " ".join(s for s in sentences if s),
        "category": rng.choice(v.category),
        "target": target,
        "pi": f"{rng.choice('ABCDEFGHJKLMNPRSTVW')}. {rng.choice(_SURNAMES)}",
        "cycle": str(cycle),
    }

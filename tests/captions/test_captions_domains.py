"""What real programmes do, in sentences like theirs: each gets a summary naming its object and its use.

Calibration and engineering, the solar system, compact objects and named events, star formation,
exoplanets and UV spectroscopy: the kinds of proposal the extractor used to leave without a summary.
"""

from __future__ import annotations

import pytest

from training.captions.extract import extract

CASES = [
    # calibration and engineering (HST and JWST)
    (
        "Full-frame dark exposures of the UVIS detector track the dark current and the growth of hot pixels.",
        "dark frames",
        "dark current calibration",
    ),
    (
        "Daily bias frames monitor the read noise and the bias level of both WFC amplifiers.",
        "bias frames",
        "bias calibration",
    ),
    (
        "Internal lamp flats taken each month measure the pixel-to-pixel response of the CCD.",
        "flat field exposures",
        "flat field calibration",
    ),
    (
        "Sky flats built from thousands of sparse-field exposures give low-frequency flat fields for the IR channel.",
        "flat field exposures",
        "flat field calibration",
    ),
    (
        "Image persistence in the IR detector is measured with darks taken after exposures of a bright star field.",
        "dark frames",
        "detector persistence",
    ),
    (
        "Dithered images of 47 Tuc at several roll angles refine the geometric distortion solution.",
        "globular clusters",
        "geometric distortion calibration",
    ),
    (
        "We characterize the zodiacal light and earthshine contribution to the sky background in each filter.",
        "sky background",
        "sky background characterization",
    ),
    (
        "This commissioning program identifies failed-open shutters and electrical shorts in the micro-shutter assembly.",
        "micro-shutter assembly",
        "micro-shutter operations",
    ),
    (
        "We verify the target acquisition accuracy of ACQ/PEAKXD sequences on faint point sources.",
        "stars",
        "target acquisition",
    ),
    (
        "The white dwarf standards GD 71 and GD 153 are observed in all filters to update the photometric zeropoints.",
        "standard stars",
        "photometric calibration",
    ),
    (
        "Charge transfer efficiency losses are measured with star cluster images placed far from the amplifiers.",
        "star clusters",
        "charge transfer efficiency calibration",
    ),
    (
        "Phase retrieval on images of a bright star monitors the telescope focus and the orbital breathing.",
        "stars",
        "telescope focus and alignment",
    ),
    (
        "Empirical PSF models are derived from dithered observations of a moderately crowded stellar field.",
        "crowded stellar field",
        "PSF characterization",
    ),
    (
        "Pt/Cr-Ne lamp spectra verify the dispersion solutions of every echelle setting.",
        "internal lamp exposures",
        "wavelength calibration",
    ),
    (
        "Observations of a flux standard in all grating settings update the absolute flux calibration.",
        "standard stars",
        "photometric calibration",
    ),
    (
        "Standard star observations before and after each decontamination measure the molecular contamination.",
        "standard stars",
        "contamination monitoring",
    ),
    (
        "Short exposures of the internal lamp characterize the shutter-induced non-uniformity.",
        "internal lamp exposures",
        "shutter performance",
    ),
    (
        "Gain maps of the FUV microchannel plates are obtained at the new lifetime position with the flat-field lamp.",
        "flat field exposures",
        "detector characterization",
    ),
    (
        "Darks taken before and after each monthly anneal measure how many hot pixels the anneal repairs.",
        "hot pixels",
        "detector annealing",
    ),
    # solar system
    (
        "We image Europa in Lyman-alpha while it transits Jupiter to search for water vapor plumes.",
        "planetary moons",
        "volcanism and plume activity",
    ),
    (
        "Io's volcanic activity is monitored through its sulfur dioxide atmosphere and the plasma torus.",
        "planetary moons",
        "volcanism and plume activity",
    ),
    (
        "Imaging of Titan at near-infrared wavelengths follows the seasonal evolution of its haze.",
        "planetary moons",
        "atmospheric dynamics",
    ),
    (
        "Ganymede's auroral ovals probe its magnetosphere and a possible subsurface ocean.",
        "planetary moons",
        "magnetic fields",
    ),
    (
        "The centaur Chiron shows outbursts; we measure the dust ejected in its coma.",
        "centaurs",
        "cometary activity",
    ),
    (
        "Binary Kuiper Belt objects yield system masses from their mutual orbits.",
        "Kuiper Belt objects",
        "orbit determination",
    ),
    (
        "Lightcurves of near-Earth asteroids give their rotation periods and shapes.",
        "asteroids",
        "physical properties of small bodies",
    ),
    (
        "Comet 67P/Churyumov-Gerasimenko is imaged to measure its water production rates near perihelion.",
        "comets",
        "cometary activity",
    ),
    (
        "Saturn's ultraviolet aurora brightens when solar wind compressions reach its magnetosphere.",
        "aurorae",
        "magnetic fields",
    ),
    # compact objects and named events
    (
        "Phase-resolved spectra of the companion of the millisecond pulsar PSR J1023+0038 give the pulsar mass.",
        "pulsars",
        "neutron star equation of state",
    ),
    (
        "Deep imaging of three magnetars measures their proper motions to test where magnetars are born.",
        "pulsars",
        "stellar proper motions",
    ),
    (
        "Transmission spectra of the giant planet transiting the white dwarf WD 1856+534 probe its atmosphere.",
        "white dwarfs",
        "exoplanet atmosphere characterization",
    ),
    (
        "UV spectroscopy of the black hole X-ray binary traces the accretion disk during the outburst decline.",
        "X-ray binaries",
        "accretion processes",
    ),
    (
        "STIS spectra of SN 1987A measure how much dust formed in the ejecta survives the reverse shock.",
        "supernova remnants",
        "dust formation and destruction",
    ),
    (
        "Late-time imaging of GW170817 searches for the kilonova afterglow and the off-axis jet.",
        "kilonovae",
        "time-domain astronomy",
    ),
    (
        "UV spectra of a tidal disruption event constrain the mass of the disrupting black hole.",
        "tidal disruption events",
        "black hole mass measurements",
    ),
    # star formation
    (
        "Third-epoch imaging of the Herbig-Haro jet HH 47 measures proper motions of its knots.",
        "jets and outflows",
        "jet and outflow kinematics",
    ),
    (
        "Proplyds in the Orion Nebula Cluster are photoevaporated by the nearby massive stars.",
        "protoplanetary disks",
        "stellar feedback on the interstellar medium",
    ),
    (
        "COS spectra of classical T Tauri stars measure mass accretion rates onto the young stars.",
        "young stellar objects",
        "accretion processes",
    ),
    # exoplanets
    (
        "Transit observations of a hot Jupiter from 0.3 to 1.7 micron reveal sodium and water absorption.",
        "hot Jupiters",
        "exoplanet atmosphere characterization",
    ),
    (
        "Coronagraphic imaging of young stars searches for wide-orbit giant planets.",
        "stars",
        "high-contrast imaging",
    ),
    (
        "Lyman-alpha transits of a young mini-Neptune reveal an escaping hydrogen exosphere.",
        "super-Earths",
        "atmospheric escape",
    ),
    # UV spectroscopy
    (
        "COS spectra of background quasars measure O VI absorption in the circumgalactic medium of L* galaxies.",
        "circumgalactic medium",
        "absorption-line studies",
    ),
    (
        "Broad Lyman-alpha absorbers toward a bright QSO trace the warm-hot intergalactic medium and the missing baryons.",
        "intergalactic medium",
        "baryon census",
    ),
]


@pytest.mark.parametrize(("text", "obj", "use"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_programme_gets_its_object_and_use(text, obj, use):
    summary = extract(text)
    if obj is not None:
        assert obj in summary.objects_and_phenomena, summary.text
    assert use in summary.science_use_cases, summary.text
